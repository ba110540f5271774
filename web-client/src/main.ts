/** Entry point: wires the join form, a transport, the caption store and the views. */

import { getConfig } from "./api.js";
import { CaptionStore } from "./captions.js";
import {
  applySettings,
  loadSettings,
  parseSettings,
  saveSettings,
  type DisplaySettings,
} from "./display-settings.js";
import { EmbeddedTransport } from "./embedded-transport.js";
import { AuthError, UserError } from "./errors.js";
import { MIME_TYPES, render, type ExportFormat } from "./export.js";
import { LANGUAGES } from "./languages.js";
import { LiveKitTransport, type RoomHandlers } from "./livekit-transport.js";
import { PasscodeMemory, tabStorage } from "./passcode.js";
import { fragmentWithoutKey, keyFromFragment } from "./room-key.js";
import { mountPastTranscript } from "./past-transcript.js";
import { TRANSLATION_TARGETS, type ServerConfig } from "./protocol.js";
import type { Transport, TransportHandlers } from "./transport.js";
import {
  Announcer,
  byId,
  download,
  LiveCaptions,
  renderParticipants,
  setCaptioner,
  setStatus,
  setToggle,
  showCall,
  showError,
  TranscriptView,
} from "./ui.js";

const PREFS = {
  room: "roomscribe.room",
  name: "roomscribe.name",
  language: "roomscribe.language",
  translate: "roomscribe.translate",
};

const form = byId<HTMLFormElement>("join-form");
const roomInput = byId<HTMLInputElement>("room-input");
const nameInput = byId<HTMLInputElement>("name-input");
const passcodeInput = byId<HTMLInputElement>("passcode-input");
const roomKeyInput = byId<HTMLInputElement>("room-key-input");
const joinButton = byId<HTMLButtonElement>("join-button");
const languageSelect = byId<HTMLSelectElement>("language-select");
/** The language captions are also shown in ("": the originals only); LiveKit mode. */
const translateSelect = byId<HTMLSelectElement>("translate-select");
const micButton = byId<HTMLButtonElement>("mic-toggle");
const shareButton = byId<HTMLButtonElement>("share-tab");
const leaveButton = byId<HTMLButtonElement>("leave-button");
const vocabularyForm = byId<HTMLFormElement>("vocabulary-form");
const vocabularyInput = byId<HTMLInputElement>("vocabulary-input");
const vocabularySave = byId<HTMLButtonElement>("vocabulary-save");
const vocabularyCurrent = byId("vocabulary-current");

const settingsForm = byId<HTMLFormElement>("settings-form");
const storedDisplay = loadSettings(localStorage);

let sessionStart = performance.now();
const store = new CaptionStore(() => (performance.now() - sessionStart) / 1000);
const live = new LiveCaptions(byId("captions"), storedDisplay.liveLines);
const transcript = new TranscriptView(
  byId<HTMLOListElement>("transcript"),
  byId<HTMLButtonElement>("jump-latest"),
);
const announcer = new Announcer(byId("announcer"));
/** While a late joiner's backlog is applied: it is the transcript so far, not live speech. */
let replayingBacklog = false;
store.subscribe((caption) => {
  if (!replayingBacklog) {
    live.show(caption);
    announcer.announce(caption);
  }
  transcript.add(caption);
});

const passcodes = new PasscodeMemory(tabStorage());

let config: ServerConfig | null = null;
let transport: Transport | null = null;
/** The same object as `transport` in LiveKit mode (rooms have a vocabulary there). */
let roomTransport: LiveKitTransport | null = null;
let roomName = "";
let micOn = false;
let sharing = false;
/** While connect() runs, a "disconnected" state is its failure, handled by join(). */
let joining = false;

const handlers: TransportHandlers = {
  // a translation still on its way when this listener stopped asking is not shown
  caption: (update) => (update.translationOf && !translateSelect.value ? null : store.apply(update)),
  state: (state) => {
    setStatus(state);
    if (state === "disconnected" && transport && !joining) void leave();
  },
  participants: renderParticipants,
  error: showError,
  tabSharing: setSharing,
};

const roomHandlers: RoomHandlers = {
  backlog: (updates) => {
    replayingBacklog = true;
    try {
      // Finals already received live are kept: the store never changes a final.
      for (const update of updates) store.apply(update);
    } finally {
      replayingBacklog = false;
    }
  },
  vocabulary: showVocabulary,
  captioner: setCaptioner,
};

function showVocabulary(terms: string[]): void {
  vocabularyCurrent.textContent = terms.length
    ? `Room vocabulary: ${terms.join(", ")}`
    : "No room vocabulary yet.";
  vocabularyCurrent.dataset.terms = JSON.stringify(terms);
  // Do not overwrite what someone is typing.
  if (document.activeElement !== vocabularyInput) vocabularyInput.value = terms.join(", ");
}

async function saveVocabulary(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const current = roomTransport;
  if (!current) return;
  const terms = vocabularyInput.value
    .split(",")
    .map((t) => t.trim())
    .filter(Boolean);
  vocabularySave.disabled = true;
  try {
    const stored = await current.setVocabulary(terms);
    vocabularyInput.blur();
    showVocabulary(stored);
    showError(null);
  } catch (err) {
    showError(`Could not save the vocabulary: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    vocabularySave.disabled = false;
  }
}

/** Shows `settings` everywhere they matter; the form mirrors them. */
function useDisplay(settings: DisplaySettings): void {
  applySettings(document.documentElement, settings);
  live.setLines(settings.liveLines);
  transcript.setAutoScroll(settings.autoScroll);
  announcer.enabled = settings.announceFinals;
  const field = (name: string) => settingsForm.elements.namedItem(name) as HTMLInputElement;
  field("textSize").value = String(settings.textSize);
  field("theme").value = settings.theme;
  field("liveLines").value = String(settings.liveLines);
  field("position").value = settings.position;
  field("autoScroll").checked = settings.autoScroll;
  field("announceFinals").checked = settings.announceFinals;
}

/** The form's values, through the same checks as stored ones. */
function settingsFromForm(): DisplaySettings {
  const field = (name: string) => settingsForm.elements.namedItem(name) as HTMLInputElement;
  return parseSettings(
    JSON.stringify({
      textSize: Number(field("textSize").value),
      theme: field("theme").value,
      liveLines: field("liveLines").valueAsNumber,
      position: field("position").value,
      autoScroll: field("autoScroll").checked,
      announceFinals: field("announceFinals").checked,
    }),
  );
}

function restorePrefs(): void {
  for (const [code, label] of LANGUAGES) languageSelect.add(new Option(label, code));
  const params = new URLSearchParams(location.search);
  roomInput.value = params.get("room") ?? localStorage.getItem(PREFS.room) ?? "";
  nameInput.value = localStorage.getItem(PREFS.name) ?? "";
  const language = localStorage.getItem(PREFS.language) ?? "auto";
  languageSelect.value = LANGUAGES.some(([code]) => code === language) ? language : "auto";
  for (const [code, label] of TRANSLATION_TARGETS) translateSelect.add(new Option(label, code));
  const target = localStorage.getItem(PREFS.translate) ?? "";
  translateSelect.value = TRANSLATION_TARGETS.some(([code]) => code === target) ? target : "";
  passcodeInput.value = passcodes.recall();
  // A link's `#key=` fills the room key; it leaves the address bar at once.
  const key = keyFromFragment(location.hash);
  if (key !== null) {
    roomKeyInput.value = key;
    history.replaceState(null, "", location.pathname + location.search + fragmentWithoutKey(location.hash));
  }
}

async function loadConfig(): Promise<ServerConfig> {
  config ??= await getConfig();
  const embedded = config.mode === "embedded";
  document.documentElement.dataset.mode = config.mode;
  // Embedded mode has no rooms: one browser, one server.
  byId("room-label").hidden = roomInput.hidden = embedded;
  byId("room-key-label").hidden = roomKeyInput.hidden = byId("room-key-hint").hidden = embedded;
  roomInput.required = !embedded;
  const needsPasscode = config.passcode_required === true;
  byId("passcode-label").hidden = passcodeInput.hidden = !needsPasscode;
  passcodeInput.required = needsPasscode;
  byId("past").hidden = embedded; // embedded mode keeps no transcripts
  byId("translate-field").hidden = embedded; // translations need the LiveKit captioner
  byId<HTMLInputElement>("past-room").value ||= roomInput.value;
  byId("mode-hint").textContent = embedded
    ? "Embedded mode: captions of your own microphone, no LiveKit server."
    : "Everyone who joins this room sees everyone's captions.";
  return config;
}

async function join(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  const name = nameInput.value.trim();
  showError(null);
  joinButton.disabled = true;
  let next: Transport | undefined;
  try {
    const { mode, passcode_required } = await loadConfig();
    const room = mode === "livekit" ? roomInput.value.trim() : "";
    const passcode = passcode_required === true ? passcodeInput.value : null;
    if (!name || (mode === "livekit" && !room) || passcode === "") return;
    localStorage.setItem(PREFS.name, name);
    if (room) localStorage.setItem(PREFS.room, room);
    if (transport) await leave();
    const roomKey = mode === "livekit" && roomKeyInput.value ? roomKeyInput.value : null;
    roomTransport =
      mode === "livekit"
        ? new LiveKitTransport(handlers, byId("remote-audio"), roomHandlers, roomKey)
        : null;
    next = roomTransport ?? new EmbeddedTransport(handlers);
    transport = next;
    vocabularyForm.hidden = roomTransport === null;
    resetSession(room, roomKey !== null);
    joining = true;
    // LiveKit mode holds the mic until the captioner hears it (livekit-transport.ts).
    if (roomTransport) setToggle("mic-toggle", false, "Starting captions…");
    const { micEnabled } = await next.connect({
      room,
      name,
      language: languageSelect.value,
      passcode,
    });
    if (passcode !== null) passcodes.remember(passcode);
    if (transport !== next) return; // left while joining
    if (translateSelect.value) void roomTransport?.setTranslation(translateSelect.value);
    setMic(micEnabled);
    shareButton.hidden = !next.canShareTab;
    setControlsEnabled(true);
    if (room) {
      const url = new URL(location.href);
      url.searchParams.set("room", room);
      history.replaceState(null, "", url);
    }
  } catch (err) {
    if (next && transport !== next) return; // left while joining: nothing to report
    await leave();
    showCall(null);
    showError(err instanceof Error ? err.message : String(err));
    if (err instanceof AuthError && !passcodeInput.hidden) {
      passcodes.forget();
      passcodeInput.focus();
      passcodeInput.select();
    }
    if (!(err instanceof UserError)) console.error(err);
  } finally {
    joining = false;
    joinButton.disabled = false;
  }
}

function resetSession(room: string, encrypted = false): void {
  roomName = room;
  sessionStart = performance.now();
  store.clear();
  live.clear();
  announcer.clear();
  transcript.clear();
  setSharing(false);
  showCall(room ? `Room: ${room}${encrypted ? " (end-to-end encrypted)" : ""}` : "Embedded mode");
  showVocabulary([]);
  setCaptioner(null);
  // Until connect() returns, the mic and share state are not known yet.
  setControlsEnabled(false);
  leaveButton.disabled = false;
}

/** Leaves the call but keeps the transcript on screen for downloading. */
async function leave(): Promise<void> {
  const current = transport;
  transport = null;
  roomTransport = null;
  setControlsEnabled(false);
  byId("join").hidden = false;
  byId("room-name").hidden = true;
  if (current) await current.close().catch((err: unknown) => console.warn("close failed", err));
  setStatus("disconnected");
  setCaptioner(null);
  setMic(false);
  renderParticipants([]);
}

function setControlsEnabled(enabled: boolean): void {
  micButton.disabled = shareButton.disabled = leaveButton.disabled = !enabled;
  vocabularySave.disabled = !enabled;
}

function setMic(on: boolean): void {
  micOn = on;
  setToggle("mic-toggle", on, on ? "Mic on" : "Mic off");
}

function setSharing(on: boolean): void {
  sharing = on;
  setToggle("share-tab", on, on ? "Stop captioning tab" : "Caption a tab");
}

micButton.addEventListener("click", async () => {
  if (!transport) return;
  try {
    await transport.setMicEnabled(!micOn);
    setMic(!micOn);
    if (micOn) showError(null);
  } catch {
    // The transport has shown why.
  }
});

shareButton.addEventListener("click", async () => {
  if (!transport) return;
  await (sharing ? transport.stopShareTab() : transport.shareTab());
});

leaveButton.addEventListener("click", () => void leave());

languageSelect.addEventListener("change", () => {
  localStorage.setItem(PREFS.language, languageSelect.value);
  void transport?.setLanguage(languageSelect.value);
});

translateSelect.addEventListener("change", () => {
  localStorage.setItem(PREFS.translate, translateSelect.value);
  void roomTransport?.setTranslation(translateSelect.value);
});

for (const button of document.querySelectorAll<HTMLButtonElement>("[data-format]")) {
  button.addEventListener("click", () => {
    const format = button.dataset.format as ExportFormat;
    const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, "").replace("T", "-");
    const safeRoom = roomName.replace(/[^\w-]+/g, "_") || "call";
    const text = render(format, store.transcript());
    download(`roomscribe-${safeRoom}-${stamp}.${format}`, text, MIME_TYPES[format]);
  });
}

settingsForm.addEventListener("change", () => {
  const next = settingsFromForm();
  saveSettings(localStorage, next);
  useDisplay(next);
});
settingsForm.addEventListener("submit", (event) => event.preventDefault());
// Escape closes the settings and gives the focus back to their toggle.
byId("settings").addEventListener("keydown", (event) => {
  const details = byId<HTMLDetailsElement>("settings");
  if (event.key !== "Escape" || !details.open) return;
  details.open = false;
  details.querySelector("summary")?.focus();
});

form.addEventListener("submit", (event) => void join(event));
vocabularyForm.addEventListener("submit", (event) => void saveVocabulary(event));
useDisplay(storedDisplay);
restorePrefs();
mountPastTranscript(() => passcodeInput.value, download);
loadConfig().catch((err: unknown) => showError(err instanceof Error ? err.message : String(err)));
