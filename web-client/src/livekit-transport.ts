/**
 * LiveKit mode: join a room, publish the mic, read `lk.transcription` text streams.
 *
 * Also: the backlog the captioning agent sends a late joiner (the room's finals
 * so far, on `roomscribe.backlog`, addressed to this participant alone) and
 * the room's vocabulary (room metadata; set through `POST /api/vocabulary`
 * with this participant's LiveKit token, kept current as LiveKit refreshes it).
 *
 * The microphone goes live only once the captioner hears it (see `startMicrophone`),
 * so the first word said is captioned.
 *
 * Only streams from a captioning agent become captions (see caption-authors.ts).
 * Legacy transcription packets (`RoomEvent.TranscriptionReceived`) are not
 * listened to: livekit-client reports them under the transcribed participant,
 * not their sender, so their origin cannot be checked.
 */

import {
  ConnectionState as LkState,
  EngineEvent,
  ExternalE2EEKeyProvider,
  LocalAudioTrack,
  type Participant,
  type RemoteParticipant,
  type RemoteTrack,
  type RemoteTrackPublication,
  Room,
  RoomEvent,
  type TextStreamReader,
  Track,
} from "livekit-client";

import { getToken, postLanguage, postTranslation, postVocabulary } from "./api.js";
import type { CaptionUpdate } from "./captions.js";
import { judgeCaptionStream, type SenderFacts } from "./caption-authors.js";
import { CaptionerWatch, type CaptionerState } from "./captioner-status.js";
import { UserError } from "./errors.js";
import * as wire from "./protocol.js";
import { DecryptionWatch, decryptionFailure, E2EE_WORKER, NEEDS_KEY } from "./room-key.js";
import {
  describeMediaError,
  errorText,
  type ConnectionState,
  type JoinOptions,
  type ParticipantView,
  type Transport,
  type TransportHandlers,
} from "./transport.js";

/** Departed participants remembered for late captions; the oldest are forgotten first. */
const MAX_DEPARTED = 256;
/** How often the captioner's heartbeat is looked at (it beats every 5 s). */
const CAPTIONER_CHECK_MS = 500;
/**
 * Longest the microphone waits, on joining, for the captioner to hear it. A
 * fresh room's captioner joins within 1-3 s; one replacing a failed captioner
 * within 5-7 s. A room without a captioner goes live after this, and its
 * indicator says so once `CaptionerWatchOptions.missingMs` has passed.
 */
export const MIC_HOLD_MS = 8_000;
/** What livekit-client asks for by default. */
const MIC_CONSTRAINTS: MediaTrackConstraints = {
  echoCancellation: true,
  noiseSuppression: true,
  autoGainControl: true,
};

const STATES: Record<LkState, ConnectionState> = {
  [LkState.Disconnected]: "disconnected",
  [LkState.Connecting]: "connecting",
  [LkState.Connected]: "connected",
  [LkState.Reconnecting]: "reconnecting",
  [LkState.SignalReconnecting]: "reconnecting",
};

/** What only LiveKit mode reports, besides {@link TransportHandlers}. */
export interface RoomHandlers {
  /** The room's finals so far, oldest first (a late joiner's backlog): not live captions. */
  backlog(updates: CaptionUpdate[]): void;
  /** The room's vocabulary, on joining and whenever someone changes it. */
  vocabulary(terms: string[]): void;
  /** Whether the captioning agent is here and alive; on joining and on every change. */
  captioner(state: CaptionerState): void;
}

export class LiveKitTransport implements Transport {
  readonly canShareTab = true;
  private readonly room: Room;
  /** Holds the room's shared key in an end-to-end encrypted room (else `null`). */
  private readonly keyProvider: ExternalE2EEKeyProvider | null;
  /** Said once: this room is encrypted and we have no key. */
  private toldNeedsKey = false;
  /** Says once per participant that our key does not decrypt them. */
  private readonly decryption = new DecryptionWatch();
  private tabAudio: MediaStreamTrack | null = null;
  private readonly trackLabels = new Map<string, string>();
  /** Publisher identity of every track seen, kept after it is unpublished. */
  private readonly trackOwners = new Map<string, string>();
  /** Participants who left: a speaker's last final can arrive after they did. */
  private readonly departed = new Map<string, SenderFacts>();
  /** Senders already warned about in the console (once each: a forger could flood it). */
  private readonly warnedSenders = new Set<string>();
  /** This participant's LiveKit token (proves membership to `/api/vocabulary`). */
  private token = "";
  private roomName = "";
  private passcode: string | null = null;
  private captionerWatch: CaptionerWatch | null = null;
  /** `captioner sid/track sid` of every track of ours a captioner said it hears. */
  private readonly heard = new Set<string>();
  /** We publish (or are about to publish) a microphone. */
  private micWanted = false;
  private captionerState: CaptionerState | null = null;
  private captionerTimer: ReturnType<typeof setInterval> | undefined;
  /** Ends the microphone's hold (see `startMicrophone`); `null` when not holding. */
  private releaseHold: (() => void) | null = null;

  /**
   * `audioSink` receives the `<audio>` elements of other participants.
   * `roomKey`: the shared key of an end-to-end encrypted room: media, captions
   * and every data message are then encrypted in this browser (livekit-client's
   * E2EE worker, data-channel encryption included) and the key is never sent anywhere.
   */
  constructor(
    private readonly handlers: TransportHandlers,
    private readonly audioSink: HTMLElement,
    private readonly roomHandlers?: RoomHandlers,
    private readonly roomKey: string | null = null,
  ) {
    this.keyProvider = roomKey === null ? null : new ExternalE2EEKeyProvider();
    this.room = new Room({
      adaptiveStream: false,
      dynacast: false,
      // `encryption` (not the deprecated `e2ee`) also encrypts text streams
      ...(this.keyProvider && {
        encryption: {
          keyProvider: this.keyProvider,
          worker: new Worker(new URL(E2EE_WORKER, import.meta.url), { type: "module" }),
        },
      }),
    });
    const participantsChanged = (): void => {
      this.handlers.participants(this.participantViews());
      this.checkCaptioner();
    };
    this.room
      .on(RoomEvent.ConnectionStateChanged, (s: LkState) => this.handlers.state(STATES[s]))
      .on(RoomEvent.ParticipantConnected, (p: RemoteParticipant) => {
        this.departed.delete(p.identity);
        participantsChanged();
      })
      .on(RoomEvent.ParticipantDisconnected, (p: RemoteParticipant) => {
        this.rememberDeparted(p);
        participantsChanged();
      })
      .on(RoomEvent.TrackUnpublished, (pub: RemoteTrackPublication, p: RemoteParticipant) =>
        this.trackOwners.set(pub.trackSid, p.identity),
      )
      .on(RoomEvent.ParticipantNameChanged, participantsChanged)
      .on(RoomEvent.ActiveSpeakersChanged, participantsChanged)
      .on(RoomEvent.ParticipantAttributesChanged, participantsChanged)
      .on(RoomEvent.LocalTrackPublished, participantsChanged)
      .on(RoomEvent.TrackSubscribed, (track: RemoteTrack, pub: RemoteTrackPublication) => {
        if (track.kind === Track.Kind.Audio) this.audioSink.append(track.attach());
        this.checkEncryption(pub);
      })
      .on(RoomEvent.TrackPublished, (pub: RemoteTrackPublication) => this.checkEncryption(pub))
      .on(RoomEvent.EncryptionError, (err: Error, p?: Participant) => this.onDecryptionError(err, p))
      .on(RoomEvent.TrackUnsubscribed, (track: RemoteTrack) => {
        for (const el of track.detach()) el.remove();
      })
      .on(RoomEvent.MediaDevicesError, (err: Error) =>
        this.handlers.error(describeMediaError(err, "microphone")),
      )
      .on(RoomEvent.RoomMetadataChanged, (metadata: string) =>
        this.roomHandlers?.vocabulary(wire.roomVocabulary(metadata)),
      )
      .on(RoomEvent.Reconnected, () => this.followTokenRefreshes())
      .on(RoomEvent.DataReceived, (payload, participant, _kind, topic) =>
        this.onData(payload, participant, topic),
      );
    this.room.registerTextStreamHandler(wire.TRANSCRIPTION_TOPIC, (reader, sender) => {
      this.onTranscription(reader, sender.identity).catch((err: unknown) =>
        console.warn("caption stream failed", err),
      );
    });
    this.room.registerTextStreamHandler(wire.BACKLOG_TOPIC, (reader, sender) => {
      this.onBacklog(reader, sender.identity).catch((err: unknown) =>
        console.warn("backlog stream failed", err),
      );
    });
  }

  async connect(options: JoinOptions): Promise<{ micEnabled: boolean }> {
    this.handlers.state("connecting");
    const grant = await getToken({
      room: options.room,
      name: options.name,
      ...(options.passcode === null ? {} : { passcode: options.passcode }),
    });
    try {
      if (this.keyProvider && this.roomKey !== null) {
        await this.keyProvider.setKey(this.roomKey);
        await this.room.setE2EEEnabled(true);
      }
      await this.room.connect(grant.url, grant.token);
    } catch (err) {
      this.handlers.state("disconnected");
      throw new UserError(`Could not connect to LiveKit at ${grant.url}: ${errorText(err)}`);
    }
    this.token = grant.token;
    this.followTokenRefreshes();
    this.roomName = grant.room;
    this.passcode = options.passcode;
    this.roomHandlers?.vocabulary(wire.roomVocabulary(this.room.metadata));
    this.captionerWatch = new CaptionerWatch(performance.now());
    this.micWanted = true; // enabled below; until then the captioner cannot hear us
    this.captionerTimer = setInterval(() => this.checkCaptioner(), CAPTIONER_CHECK_MS);
    this.handlers.participants(this.participantViews());
    this.checkCaptioner();
    await this.setLanguage(options.language);
    try {
      await this.startMicrophone();
      return { micEnabled: true };
    } catch {
      // Already reported; a call without a mic still shows the others' captions.
      this.micWanted = false;
      this.checkCaptioner();
      return { micEnabled: false };
    }
  }

  /**
   * Publishes the microphone so that the first word said is captioned.
   *
   * LiveKit does not buffer audio for a subscriber that comes late, and a
   * fresh room's captioner joins and subscribes a second or more after the
   * first person: a microphone opened at once loses its first words. So a
   * silent track is published in the microphone's place first; once the
   * captioner says it hears that track (`HEARING_TOPIC`) the real microphone
   * is opened and swapped in (the same published track, nothing renegotiated),
   * so its first sample reaches a listening captioner. Nothing is buffered here:
   * until then nothing is captured, and the page shows captions as starting.
   * Gives up holding after `MIC_HOLD_MS`, or at once when the captioner's
   * worker is full (it would not hear us anyway).
   */
  private async startMicrophone(): Promise<void> {
    const local = this.room.localParticipant;
    let silence: SilentTrack | undefined;
    let track: LocalAudioTrack;
    try {
      silence = silentTrack();
      track = new LocalAudioTrack(silence.track, MIC_CONSTRAINTS, true);
      await local.publishTrack(track, { source: Track.Source.Microphone });
    } catch (err) {
      silence?.close();
      console.warn("roomscribe: cannot hold the microphone; opening it at once", err);
      await this.setMicEnabled(true);
      return;
    }
    try {
      await this.captionerListens(MIC_HOLD_MS);
      if (this.captionerWatch === null) return; // left meanwhile
      const stream = await navigator.mediaDevices.getUserMedia({ audio: MIC_CONSTRAINTS });
      const mic = stream.getAudioTracks()[0];
      if (!mic) throw new DOMException("no audio track", "NotFoundError");
      if (this.captionerWatch === null) {
        mic.stop();
        return;
      }
      // from now on livekit-client manages it like a microphone it opened itself
      await track.replaceTrack(mic, { userProvidedTrack: false });
    } catch (err) {
      await local.unpublishTrack(track, true).catch(() => undefined);
      this.handlers.error(describeMediaError(err, "microphone"));
      throw err;
    } finally {
      this.releaseHold = null;
      silence.close();
    }
  }

  /** Resolves once the captioner hears our microphone track (or cannot yet), or after `ms`. */
  private captionerListens(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.releaseHold?.(), ms);
      this.releaseHold = () => {
        clearTimeout(timer);
        this.releaseHold = null;
        resolve();
      };
      this.checkCaptioner();
    });
  }

  async setMicEnabled(enabled: boolean): Promise<void> {
    try {
      await this.room.localParticipant.setMicrophoneEnabled(enabled);
    } catch (err) {
      this.handlers.error(describeMediaError(err, "microphone"));
      throw err;
    }
    if (enabled && !this.micWanted) {
      // A mic that failed at connect and works now: wait for the captioner to hear it.
      this.micWanted = true;
      this.checkCaptioner();
    }
  }

  /**
   * Through the server: our token may not set our own attributes (nor our name,
   * which is why: captions carry the name the server issued).
   */
  async setLanguage(language: string): Promise<void> {
    try {
      await postLanguage({
        room: this.roomName,
        language,
        token: this.token,
        ...(this.passcode === null ? {} : { passcode: this.passcode }),
      });
    } catch (err) {
      this.handlers.error(`Could not set the spoken language: ${errorText(err)}`);
    }
  }

  /**
   * Asks for captions also in `target` (`en`), or the originals only (`""`):
   * through the server, like the spoken language.
   */
  async setTranslation(target: string): Promise<void> {
    try {
      await postTranslation({
        room: this.roomName,
        target,
        token: this.token,
        ...(this.passcode === null ? {} : { passcode: this.passcode }),
      });
    } catch (err) {
      this.handlers.error(`Could not ask for translated captions: ${errorText(err)}`);
    }
  }

  async shareTab(): Promise<void> {
    let stream: MediaStream;
    try {
      // Chrome only offers tab audio when video is requested too.
      stream = await navigator.mediaDevices.getDisplayMedia({ audio: true, video: true });
    } catch (err) {
      this.handlers.error(describeMediaError(err, "tab"));
      return;
    }
    for (const video of stream.getVideoTracks()) video.stop();
    const audio = stream.getAudioTracks()[0];
    if (!audio) {
      this.handlers.error('That share has no audio. Pick a tab and tick "Share tab audio".');
      return;
    }
    await this.stopShareTab();
    try {
      await this.room.localParticipant.publishTrack(audio, {
        name: wire.TAB_AUDIO_TRACK_NAME,
        source: Track.Source.ScreenShareAudio,
      });
    } catch (err) {
      audio.stop();
      this.handlers.error(`Could not publish the tab's audio: ${errorText(err)}`);
      return;
    }
    this.tabAudio = audio;
    audio.addEventListener("ended", () => void this.stopShareTab());
    this.handlers.tabSharing(true);
  }

  async stopShareTab(): Promise<void> {
    const audio = this.tabAudio;
    if (!audio) return;
    this.tabAudio = null;
    this.handlers.tabSharing(false);
    await this.room.localParticipant.unpublishTrack(audio, true);
  }

  /** Sets the room's vocabulary for everyone; resolves the stored terms (or rejects readably). */
  async setVocabulary(terms: string[]): Promise<string[]> {
    if (!this.token) throw new UserError("Join a room first.");
    const stored = await postVocabulary({
      room: this.roomName,
      terms,
      token: this.token,
      ...(this.passcode === null ? {} : { passcode: this.passcode }),
    });
    return stored.terms;
  }

  async close(): Promise<void> {
    this.releaseHold?.();
    clearInterval(this.captionerTimer);
    this.captionerWatch = null;
    this.room.unregisterTextStreamHandler(wire.TRANSCRIPTION_TOPIC);
    this.room.unregisterTextStreamHandler(wire.BACKLOG_TOPIC);
    this.room.engine.off(EngineEvent.TokenRefreshed, this.onTokenRefreshed);
    await this.stopShareTab().catch(() => undefined);
    await this.room.disconnect();
    this.room.removeAllListeners();
    this.audioSink.replaceChildren();
  }

  /** Someone publishes encrypted media and we hold no key: say so (once), the call goes on. */
  private checkEncryption(pub: RemoteTrackPublication): void {
    if (this.keyProvider || this.toldNeedsKey || !pub.isEncrypted) return;
    this.toldNeedsKey = true;
    this.handlers.error(NEEDS_KEY);
  }

  /** A participant's frames do not decrypt with our key: say so (once per participant). */
  private onDecryptionError(err: Error, participant: Participant | undefined): void {
    if (!participant || participant.isLocal) return;
    const why = decryptionFailure(err);
    const message = this.decryption.failed(participant.identity, participant.name ?? "", why);
    if (message) this.handlers.error(message);
  }

  private async onTranscription(reader: TextStreamReader, senderIdentity: string): Promise<void> {
    const attrs = reader.info.attributes ?? {};
    const trackId = attrs[wire.ATTR_TRACK_ID] ?? "";
    // Judged on arrival of the header: who is in the room now is what counts.
    const verdict = judgeCaptionStream({
      senderIdentity,
      sender: this.senderFacts(senderIdentity),
      trackOwner: this.trackOwner(trackId)?.identity ?? this.trackOwners.get(trackId),
    });
    if (!verdict.accept) {
      const from = JSON.stringify(senderIdentity);
      const line = `roomscribe: ignored a caption stream from ${from}: ${verdict.reason}`;
      console.debug(line);
      if (!this.warnedSenders.has(senderIdentity)) {
        this.warnedSenders.add(senderIdentity);
        console.warn(line);
      }
      return;
    }
    const payload = await reader.readAll();
    const timed =
      attrs[wire.ATTR_FORMAT] === wire.FORMAT_JSON ? wire.parseTimedStrings(payload) : null;
    const segmentId = attrs[wire.ATTR_SEGMENT_ID] ?? reader.info.id;
    this.handlers.caption({
      segmentId,
      trackId,
      speaker: this.speakerLabel(senderIdentity, trackId),
      text: timed?.text ?? payload,
      final: attrs[wire.ATTR_FINAL] === "true",
      start: timed?.start ?? parseSeconds(attrs[wire.ATTR_START]),
      end: timed?.end ?? parseSeconds(attrs[wire.ATTR_END]),
      language: attrs[wire.ATTR_LANGUAGE] || null,
      revision: wire.parseRevision(attrs[wire.ATTR_REVISION]),
      ...(attrs[wire.ATTR_TRANSLATION_OF]
        ? { translationOf: attrs[wire.ATTR_TRANSLATION_OF] }
        : {}),
    });
  }

  /** Report the captioner's state when it changes (see captioner-status.ts). */
  private checkCaptioner(): void {
    const watch = this.captionerWatch;
    if (!watch) return;
    const now = performance.now();
    const agent = this.room.remoteParticipants.get(wire.AGENT_IDENTITY);
    watch.observe(
      now,
      agent
        ? {
            sid: agent.sid,
            heartbeat: agent.attributes[wire.ATTR_HEARTBEAT],
            hearsYou: this.micWanted ? this.heard.has(`${agent.sid}/${this.micSid()}`) : undefined,
            waitsForYou: this.micWanted && this.waitingTracks().has(this.micSid()),
          }
        : null,
    );
    if (this.releaseHold && agent) {
      const mic = this.micSid();
      if (this.heard.has(`${agent.sid}/${mic}`) || this.waitingTracks().has(mic)) {
        this.releaseHold();
      }
    }
    const state = watch.state(now);
    if (state === this.captionerState) return;
    this.captionerState = state;
    this.roomHandlers?.captioner(state);
  }

  /** A captioner's notice that it hears one of our tracks (see `HEARING_TOPIC`). */
  private onData(payload: Uint8Array, sender?: RemoteParticipant, topic?: string): void {
    if (topic !== wire.HEARING_TOPIC || sender?.identity !== wire.AGENT_IDENTITY) return;
    this.heard.add(`${sender.sid}/${new TextDecoder().decode(payload)}`);
    this.checkCaptioner();
  }

  /** Tracks the captioner cannot caption yet (its worker is full). */
  private waitingTracks(): Set<string> {
    const agent = this.room.remoteParticipants.get(wire.AGENT_IDENTITY);
    return wire.waitingTracks(agent?.attributes[wire.ATTR_WAITING]);
  }

  /** Our microphone track's sid ("" before it is published). */
  private micSid(): string {
    return this.room.localParticipant.getTrackPublication(Track.Source.Microphone)?.trackSid ?? "";
  }

  private readonly onTokenRefreshed = (token: string): void => {
    this.token = token;
  };

  /**
   * LiveKit renews a connected participant's token (the first one expires after
   * minutes). Only the engine reports it, and a connect or full reconnect may
   * replace the engine: (re)attach after each.
   */
  private followTokenRefreshes(): void {
    this.room.engine.off(EngineEvent.TokenRefreshed, this.onTokenRefreshed);
    this.room.engine.on(EngineEvent.TokenRefreshed, this.onTokenRefreshed);
  }

  /** A backlog counts only from an agent (other participants cannot send us a transcript). */
  private async onBacklog(reader: TextStreamReader, senderIdentity: string): Promise<void> {
    if (!this.senderFacts(senderIdentity)?.isAgent) {
      console.warn(`roomscribe: ignored a backlog from ${JSON.stringify(senderIdentity)}`);
      return;
    }
    const segments = wire.parseBacklog(await reader.readAll());
    this.roomHandlers?.backlog(
      segments.map((s) => ({
        segmentId: s.segment_id,
        trackId: s.track_id,
        // the live label while the speaker's track is here; else the name they had
        speaker:
          this.trackOwner(s.track_id) || this.participant(s.speaker)
            ? this.speakerLabel(s.speaker, s.track_id)
            : s.speaker_name || s.speaker,
        text: s.text,
        final: true,
        start: s.start,
        end: s.end,
        language: s.language,
        revision: s.revision,
      })),
    );
  }

  /**
   * Display name of whoever owns the track (else the stream's sender). Labels
   * are remembered per track: a track's last final can arrive after it was
   * unpublished.
   */
  private speakerLabel(senderIdentity: string, trackId: string): string {
    const owner = this.trackOwner(trackId);
    if (!owner) {
      const remembered = this.trackLabels.get(trackId);
      if (remembered) return remembered;
    }
    const participant = owner ?? this.participant(senderIdentity);
    const name = participant?.name || participant?.identity || senderIdentity;
    const publication = owner?.trackPublications.get(trackId);
    const label =
      publication?.trackName === wire.TAB_AUDIO_TRACK_NAME ? `${name} (shared audio)` : name;
    if (owner) this.trackLabels.set(trackId, label);
    return label;
  }

  /** Who publishes `trackId` now (remembered in `trackOwners` for later). */
  private trackOwner(trackId: string): Participant | undefined {
    if (!trackId) return undefined;
    const everyone: Participant[] = [
      this.room.localParticipant,
      ...this.room.remoteParticipants.values(),
    ];
    const owner = everyone.find((p) => p.trackPublications.has(trackId));
    if (owner) this.trackOwners.set(trackId, owner.identity);
    return owner;
  }

  private participant(identity: string): Participant | undefined {
    const local = this.room.localParticipant;
    return identity === local.identity ? local : this.room.remoteParticipants.get(identity);
  }

  private senderFacts(identity: string): SenderFacts | undefined {
    const p = this.participant(identity);
    return p ? factsOf(p) : this.departed.get(identity);
  }

  private rememberDeparted(p: Participant): void {
    this.departed.delete(p.identity);
    this.departed.set(p.identity, factsOf(p));
    for (const identity of this.departed.keys()) {
      if (this.departed.size <= MAX_DEPARTED) break;
      this.departed.delete(identity);
    }
  }

  private participantViews(): ParticipantView[] {
    const local = this.room.localParticipant;
    const others = [...this.room.remoteParticipants.values()].filter(
      (p) => p.identity !== wire.AGENT_IDENTITY,
    );
    const waiting = this.waitingTracks();
    return [local, ...others].map((p) => ({
      identity: p.identity,
      name: p.name || p.identity,
      isLocal: p === local,
      speaking: p.isSpeaking,
      audioLevel: p.audioLevel,
      language: spokenLanguage(p.attributes[wire.ATTR_SPOKEN_LANGUAGE]),
      captionsWaiting: [...p.trackPublications.keys()].some((sid) => waiting.has(sid)),
    }));
  }
}

interface SilentTrack {
  track: MediaStreamTrack;
  close(): void;
}

/** An audio track of silence, without opening the microphone. */
function silentTrack(): SilentTrack {
  const context = new AudioContext();
  const track = context.createMediaStreamDestination().stream.getAudioTracks()[0];
  if (!track) {
    void context.close();
    throw new Error("no silent audio track");
  }
  return {
    track,
    close: () => {
      track.stop();
      void context.close();
    },
  };
}

function factsOf(p: Participant): SenderFacts {
  return {
    identity: p.identity,
    isAgent: p.isAgent,
    canPublishData: p.permissions?.canPublishData,
  };
}

function spokenLanguage(value: string | undefined): string | null {
  return value && value !== "auto" ? value : null;
}

function parseSeconds(value: string | undefined): number | null {
  if (value === undefined || value === "") return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) ? seconds : null;
}
