// A plain LiveKit app: join a room with LiveKit's React components and show
// everyone's transcriptions with `useTranscriptions`. Nothing here knows about
// roomscribe; it only reads LiveKit's standard transcription attributes, and
// the payload livekit-agents sends with its `json_format` text output (one JSON
// TimedString per line, with start/end times) when an agent sends that.
//
//   index.html?url=wss://your-livekit&token=<join token>
import { ParticipantAgentAttributes, type TextStreamData } from "@livekit/components-core";
import {
  LiveKitRoom,
  RoomAudioRenderer,
  TrackToggle,
  useConnectionState,
  useTranscriptions,
} from "@livekit/components-react";
import { Track } from "livekit-client";
import { createRoot } from "react-dom/client";

const { TranscriptionSegmentId, TranscriptionFinal, TranscribedTrackId } =
  ParticipantAgentAttributes;

interface Speaker {
  identity: string;
  segments: TextStreamData[];
}

/** Transcriptions grouped by speaker, in order of each speaker's first segment. */
function bySpeaker(transcriptions: TextStreamData[]): Speaker[] {
  const speakers = new Map<string, Speaker>();
  for (const t of transcriptions) {
    const identity = t.participantInfo.identity;
    let speaker = speakers.get(identity);
    if (!speaker) {
      speaker = { identity, segments: [] };
      speakers.set(identity, speaker);
    }
    speaker.segments.push(t);
  }
  return [...speakers.values()];
}

interface Timed {
  text: string;
  start?: number;
  end?: number;
}

/**
 * A `json_format` payload (JSON lines `{"text", "start_time", "end_time", ...}`)
 * as its text and the times of its first and last line; any other payload is plain text.
 */
function readPayload(payload: string): Timed {
  const lines = payload.split("\n").filter((line) => line.trim() !== "");
  const timed: Timed = { text: "" };
  try {
    for (const line of lines) {
      const item: unknown = JSON.parse(line);
      if (typeof item !== "object" || item === null || !("text" in item)) return { text: payload };
      const { text, start_time, end_time } = item as Record<string, unknown>;
      if (typeof text !== "string") return { text: payload };
      timed.text += text;
      if (timed.start === undefined && typeof start_time === "number") timed.start = start_time;
      if (typeof end_time === "number") timed.end = end_time;
    }
  } catch {
    return { text: payload };
  }
  return lines.length > 0 ? timed : { text: payload };
}

/** `m:ss.s` */
function clock(seconds: number): string {
  const m = Math.floor(seconds / 60);
  return `${m}:${(seconds - m * 60).toFixed(1).padStart(4, "0")}`;
}

function Segment({ data }: { data: TextStreamData }) {
  const attributes = data.streamInfo.attributes ?? {};
  const final = attributes[TranscriptionFinal] === "true";
  const { text, start, end } = readPayload(data.text);
  return (
    <li
      data-testid="segment"
      data-segment-id={attributes[TranscriptionSegmentId] ?? ""}
      data-track-id={attributes[TranscribedTrackId] ?? ""}
      data-final={String(final)}
      className={final ? "final" : "interim"}
    >
      {start !== undefined && end !== undefined && (
        <small data-testid="segment-time" data-start={start} data-end={end}>
          {clock(start)}–{clock(end)}{" "}
        </small>
      )}
      <span className="text">{text}</span> <small>{final ? "final" : "…"}</small>
    </li>
  );
}

function Transcriptions() {
  const transcriptions = useTranscriptions();
  return (
    <div data-testid="transcriptions">
      {bySpeaker(transcriptions).map((speaker) => (
        <section key={speaker.identity} data-testid="speaker" data-identity={speaker.identity}>
          <h2>{speaker.identity}</h2>
          <ol>
            {speaker.segments.map((s) => (
              // useTranscriptions keeps one entry per segment id, updated in place.
              <Segment key={s.streamInfo.attributes?.[TranscriptionSegmentId] ?? s.streamInfo.id} data={s} />
            ))}
          </ol>
        </section>
      ))}
    </div>
  );
}

function Status() {
  const state = useConnectionState();
  return (
    <p data-testid="status" data-state={state}>
      {state}
    </p>
  );
}

function App() {
  const params = new URLSearchParams(location.search);
  const url = params.get("url");
  const token = params.get("token");
  if (!url || !token) {
    return <p data-testid="usage">Open this page with ?url=wss://…&amp;token=… (a LiveKit join token).</p>;
  }
  return (
    <LiveKitRoom serverUrl={url} token={token} connect={true} audio={true} video={false}>
      <header>
        <Status />
        <TrackToggle source={Track.Source.Microphone} data-testid="mic-toggle" />
      </header>
      <Transcriptions />
      <RoomAudioRenderer />
    </LiveKitRoom>
  );
}

createRoot(document.getElementById("root")!).render(<App />);
