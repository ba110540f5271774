/**
 * Which `lk.transcription` text streams may become captions (LiveKit mode).
 *
 * The client sees one fact about a stream's origin: the identity on its
 * header packet (the `participantInfo` the text-stream handler receives).
 * livekit-server writes that identity itself, overwriting what the sender put
 * there, for every participant except agents: an agent (participant kind
 * AGENT, a token only the API-key holder can mint) may send a text stream on
 * behalf of another participant, and then the header keeps that participant's
 * identity and LiveKit marks it `generated` (a flag livekit-client 2.23 does
 * not pass on, and one that a non-agent can set on its own streams anyway).
 * So a stream that names participant P was written either by an agent, or by
 * P itself, and P can write one only if its token grants `canPublishData`:
 * livekit-server drops every data packet of a participant without it.
 *
 * Hence a caption is shown only when
 * - the named sender is an agent (the captioning agent, or an agent captioning
 *   another agent), or
 * - the named sender may not publish data, so an agent relayed it; and the
 *   transcribed track, when known, belongs to that sender.
 * A stream naming a participant who may publish data is ignored: it cannot be
 * told apart from one that participant forged. Unknown senders are ignored.
 */

/** What the client knows about the participant a stream names as its sender. */
export interface SenderFacts {
  identity: string;
  /** Kind AGENT (or the older `agent` grant), as livekit-server sees it. */
  isAgent: boolean;
  /** The participant's `canPublishData` permission; `undefined` when not known. */
  canPublishData: boolean | undefined;
}

/** A caption stream as received: its named sender and the track it transcribes. */
export interface StreamOrigin {
  /** Identity on the stream header ("" for a hidden participant). */
  senderIdentity: string;
  /** Facts about that participant, or `undefined` if it was never seen in the room. */
  sender: SenderFacts | undefined;
  /** Identity of whoever published the transcribed track, if known. */
  trackOwner: string | undefined;
}

export type Verdict = { accept: true } | { accept: false; reason: string };

/** Whether a caption stream comes from a captioning agent; see the module comment. */
export function judgeCaptionStream(origin: StreamOrigin): Verdict {
  const { sender, senderIdentity, trackOwner } = origin;
  if (!senderIdentity) return reject("the sender is hidden");
  if (!sender) return reject("the sender is not in the room");
  if (sender.isAgent) return { accept: true };
  if (sender.canPublishData !== false) {
    return reject("the sender may publish data, so it could have written this itself");
  }
  if (trackOwner !== undefined && trackOwner !== senderIdentity) {
    return reject(`the transcribed track belongs to ${JSON.stringify(trackOwner)}`);
  }
  return { accept: true };
}

function reject(reason: string): Verdict {
  return { accept: false, reason };
}
