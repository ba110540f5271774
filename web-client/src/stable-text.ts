/**
 * The live panel's stable-display rule for one segment's updates.
 *
 * A streaming recognizer re-reads the open sentence on every interim, and a
 * re-read is sometimes shorter than the one before ("so we will" after "so we
 * will meet"); shown as is, the line jumps backwards under the reader's eyes.
 */

/**
 * The text to show for a segment after an update with `next`, while `shown` is
 * on screen: an interim shorter than `shown` keeps `shown` (the line never
 * shrinks while it is being written); an interim at least as long replaces it;
 * the final always replaces it, being what the transcript keeps.
 */
export function stableText(shown: string, next: string, final: boolean): string {
  if (final) return next;
  return next.length >= shown.length ? next : shown;
}
