// A plain LiveKit app: join a room with LiveKit's React components and show
// everyone's transcriptions with `useTranscriptions`. Nothing here knows about
// roomscribe; it only reads LiveKit's standard transcription attributes.
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

function Segment({ data }: { data: TextStreamData }) {
  const attributes = data.streamInfo.attributes ?? {};
  const final = attributes[TranscriptionFinal] === "true";
  return (
    <li
      data-testid="segment"
      data-segment-id={attributes[TranscriptionSegmentId] ?? ""}
      data-track-id={attributes[TranscribedTrackId] ?? ""}
      data-final={String(final)}
      className={final ? "final" : "interim"}
    >
      <span className="text">{data.text}</span> <small>{final ? "final" : "…"}</small>
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
