/**
 * The index of the quote that closes the JSON string opening at `start` (a quote after an odd
 * number of backslashes is escaped), or -1 when the text ends first. For scans of JSON text that
 * must step over strings: the duplicate-field check, the watch client's managedFields cut.
 */
export function jsonStringEnd(text: string, start: number): number {
  for (let j = start + 1; ; j++) {
    j = text.indexOf('"', j)
    if (j < 0) return -1
    let k = j - 1
    while (text.charCodeAt(k) === 92) k--
    if ((j - 1 - k) % 2 === 0) return j
  }
}
