/**
 * Embedded mode: one RTCPeerConnection straight to `roomscribe serve --embedded`.
 * The mic goes up as an audio track; captions come back on a data channel.
 */

import { postOffer } from "./api.js";
import { UserError } from "./errors.js";
import { LevelMeter } from "./level-meter.js";
import * as wire from "./protocol.js";
import {
  describeMediaError,
  errorText,
  type ConnectionState,
  type JoinOptions,
  type Transport,
  type TransportHandlers,
} from "./transport.js";

/** No trickle ICE: the offer is sent once every candidate is in it. */
const ICE_GATHERING_TIMEOUT_MS = 5000;

const STATES: Partial<Record<RTCPeerConnectionState, ConnectionState>> = {
  new: "connecting",
  connecting: "connecting",
  connected: "connected",
  disconnected: "reconnecting",
  failed: "disconnected",
  closed: "disconnected",
};

export class EmbeddedTransport implements Transport {
  readonly canShareTab = false;
  private pc: RTCPeerConnection | null = null;
  private channel: RTCDataChannel | null = null;
  private mic: MediaStream | null = null;
  private meter: LevelMeter | null = null;
  private name = "";
  private language: string | null = null;

  constructor(private readonly handlers: TransportHandlers) {}

  async connect(options: JoinOptions): Promise<{ micEnabled: boolean }> {
    this.name = options.name;
    this.language = options.language === "auto" ? null : options.language;
    this.handlers.state("connecting");
    try {
      this.mic = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (err) {
      this.handlers.state("disconnected");
      throw new UserError(describeMediaError(err, "microphone"));
    }
    const pc = new RTCPeerConnection();
    this.pc = pc;
    pc.addEventListener("connectionstatechange", () => {
      const state = STATES[pc.connectionState];
      if (state) this.handlers.state(state);
    });
    for (const track of this.mic.getAudioTracks()) pc.addTrack(track, this.mic);
    this.channel = pc.createDataChannel(wire.DATA_CHANNEL_LABEL, { ordered: true });
    this.channel.addEventListener("message", (event: MessageEvent<unknown>) => {
      if (typeof event.data === "string") this.onMessage(event.data);
    });

    await pc.setLocalDescription(await pc.createOffer());
    await iceGatheringComplete(pc);
    const local = pc.localDescription;
    if (!local) throw new UserError("The browser produced no WebRTC offer.");
    const answer = await postOffer({
      sdp: local.sdp,
      type: "offer",
      name: options.name,
      language: options.language,
      ...(options.passcode === null ? {} : { passcode: options.passcode }),
    });
    try {
      await pc.setRemoteDescription(answer);
    } catch (err) {
      throw new UserError(`The server's WebRTC answer was rejected: ${errorText(err)}`);
    }
    this.startMeter(this.mic);
    return { micEnabled: true };
  }

  async setMicEnabled(enabled: boolean): Promise<void> {
    for (const track of this.mic?.getAudioTracks() ?? []) track.enabled = enabled;
  }

  async setLanguage(language: string): Promise<void> {
    this.language = language === "auto" ? null : language;
    if (this.channel?.readyState === "open") {
      this.channel.send(JSON.stringify({ type: wire.MESSAGE_SET_LANGUAGE, language }));
    }
  }

  async shareTab(): Promise<void> {
    this.handlers.error("Captioning a tab needs LiveKit mode.");
  }

  async stopShareTab(): Promise<void> {}

  async close(): Promise<void> {
    await this.meter?.close();
    this.meter = null;
    this.channel?.close();
    this.pc?.close();
    for (const track of this.mic?.getTracks() ?? []) track.stop();
    this.channel = null;
    this.pc = null;
    this.mic = null;
    this.handlers.state("disconnected");
  }

  private onMessage(raw: string): void {
    const msg = wire.parseDataChannelMessage(raw);
    if (msg?.type === wire.MESSAGE_ERROR) {
      this.handlers.error(msg.message);
    } else if (msg?.type === wire.MESSAGE_CAPTION) {
      this.handlers.caption({
        segmentId: msg.segment_id,
        trackId: msg.track_id,
        speaker: msg.speaker || this.name,
        text: msg.text,
        final: msg.final,
        start: msg.start,
        end: msg.end,
        language: msg.language,
        revision: msg.revision,
      });
    }
  }

  private startMeter(stream: MediaStream): void {
    // A function: the language can change while the meter runs.
    const self = () => ({
      identity: "local",
      name: this.name,
      isLocal: true,
      language: this.language,
    });
    this.handlers.participants([{ ...self(), speaking: false, audioLevel: 0 }]);
    try {
      this.meter = new LevelMeter(stream);
    } catch {
      return; // No Web Audio: the list just shows no level.
    }
    this.meter.start((audioLevel, speaking) => {
      const enabled = stream.getAudioTracks().some((t) => t.enabled);
      this.handlers.participants([
        { ...self(), speaking: enabled && speaking, audioLevel: enabled ? audioLevel : 0 },
      ]);
    });
  }
}

function iceGatheringComplete(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      window.clearTimeout(timer);
      resolve();
    };
    // Some networks never finish gathering; host candidates are enough locally.
    const timer = window.setTimeout(() => {
      pc.removeEventListener("icegatheringstatechange", done);
      resolve();
    }, ICE_GATHERING_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", done);
  });
}
