/** Pure helpers of the video page's insights (no imports, so the unit tests run this file in Node): tags as the
 * server normalises them, the chapter or transcript line at a time, find-in-transcript, the insights poll's back-off. */

/** The server's tag rules (PATCH /videos/{id} `tags`): 1-32 characters each, at most 20 per video. */
export const TAG_MAX_CHARS = 32
export const TAG_MAX_COUNT = 20

/** A tag as the server stores it: trimmed, a leading '#' dropped, inner whitespace one space, lower case. */
export function normaliseTag(raw: string): string {
  return raw.trim().replace(/^#+/, '').replace(/\s+/g, ' ').trim().toLowerCase()
}

/** `existing` plus the comma-separated tags typed in `input`, normalised and without repeats (order kept). */
export function addTags(existing: string[], input: string): string[] {
  const out = [...existing]
  for (const piece of input.split(',')) {
    const tag = normaliseTag(piece)
    if (tag && !out.includes(tag)) out.push(tag)
  }
  return out
}

/** Why the server would refuse these tags, as a sentence with what to do; null when it would take them. */
export function tagProblem(tags: string[]): string | null {
  const long = tags.find((t) => t.length > TAG_MAX_CHARS)
  if (long) {
    return `The tag “${long.slice(0, 40)}${long.length > 40 ? '…' : ''}” is longer than ${TAG_MAX_CHARS} characters. `
      + 'Shorten it, then save again.'
  }
  if (tags.length > TAG_MAX_COUNT) {
    return `A video can have at most ${TAG_MAX_COUNT} tags; this one would have ${tags.length}. Remove some, then save again.`
  }
  return null
}

/** The same tags in the same order (what "Save tags" compares with what is stored). */
export function sameTags(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i])
}

export interface Span { start: number; end: number }

/**
 * Index of the span playing at `t` seconds (start <= t < end; the last span also holds its end), -1 when none.
 * Spans are sorted by start and do not overlap (the server sorts chapters and cuts overlaps; transcripts are timed).
 */
export function spanAt(spans: Span[], t: number): number {
  if (!Number.isFinite(t)) return -1
  let lo = 0
  let hi = spans.length - 1
  let found = -1
  while (lo <= hi) { // the last span starting at or before t
    const mid = (lo + hi) >> 1
    if (spans[mid].start <= t) { found = mid; lo = mid + 1 } else hi = mid - 1
  }
  if (found < 0) return -1
  const s = spans[found]
  const isLast = found === spans.length - 1
  return t < s.end || (isLast && t <= s.end) ? found : -1
}

/** One occurrence of the searched text: line index and the character range in that line's text. */
export interface Match { line: number; from: number; to: number }

/** Every case-insensitive occurrence of `query` (plain text, not a pattern) in the lines, in reading order. */
export function findInLines(lines: string[], query: string): Match[] {
  const q = query.trim().toLocaleLowerCase()
  if (!q) return []
  const out: Match[] = []
  lines.forEach((text, line) => {
    const lower = text.toLocaleLowerCase()
    // toLocaleLowerCase may change a string's length (rare letters); then only whole-line positions are safe
    const sameLength = lower.length === text.length
    let at = lower.indexOf(q)
    while (at >= 0) {
      out.push(sameLength ? { line, from: at, to: at + q.length } : { line, from: 0, to: text.length })
      if (!sameLength) break
      at = lower.indexOf(q, at + q.length)
    }
  })
  return out
}

/** "3 of 12 matches", "No matches", "" (nothing searched). */
export function matchCountText(current: number, total: number, searched: boolean): string {
  if (!searched) return ''
  if (total === 0) return 'No matches'
  return `${current + 1} of ${total} ${total === 1 ? 'match' : 'matches'}`
}

/** Insight states that change on their own, so the page asks again. */
export const INSIGHTS_IN_FLIGHT = new Set(['queued', 'generating'])
export const POLL_FIRST_MS = 2000
export const POLL_MAX_MS = 30000

/** The wait before the next insights poll: ×1.5 each time from 2 s up to 30 s (generation takes minutes). */
export function nextPollDelay(previousMs: number | null): number {
  if (previousMs == null || !Number.isFinite(previousMs) || previousMs <= 0) return POLL_FIRST_MS
  return Math.min(POLL_MAX_MS, Math.round(previousMs * 1.5))
}

/** What the page says while insights are made or when there are none (the server's message wins when it has one). */
export function insightStateText(state: string, message: string | null | undefined): string {
  if (message && message.trim()) return message.trim()
  switch (state) {
    case 'queued': return 'The summary, chapters and transcript are queued. This page updates by itself.'
    case 'generating': return 'Generating the summary, chapters and transcript… This page updates by itself.'
    case 'failed': return 'The summary, chapters and transcript could not be made.'
    case 'skipped': return 'This video is too short for a summary, chapters or a transcript.'
    case 'waiting': return 'Today’s limit of generated summaries is reached; this video’s turn comes tomorrow.'
    case 'none': return 'No summary, chapters or transcript yet. They are made once the video is indexed (status Ready).'
    default: return ''
  }
}
