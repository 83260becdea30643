/** Formatting of times, sizes, dates and status labels shown to people. */

/** Seconds as hh:mm:ss (always two-digit hours, the clip-list format). */
export function clock(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '--:--:--'
  const s = Math.floor(seconds)
  const hh = Math.floor(s / 3600)
  const mm = Math.floor((s % 3600) / 60)
  const ss = s % 60
  return [hh, mm, ss].map((n) => String(n).padStart(2, '0')).join(':')
}

/** ISO 8601 duration for <time datetime>. */
export function isoDuration(seconds: number): string {
  return `PT${Math.max(0, Math.round(seconds * 1000) / 1000)}S`
}

/** Bytes exactly as Uppy's Dashboard shows them (@transloadit/prettier-bytes: powers of 1024 labelled KB, MB, GB),
 * so a file reads the same on the upload page, the library and the video page (3.4 MB, not 3.4 and 3.6). */
export function bytes(n: number | null | undefined): string {
  if (n == null || !Number.isFinite(n)) return '—'
  if (n <= 0) return '0 B'
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB']
  const i = Math.min(Math.floor(Math.log(n) / Math.log(1024)), units.length - 1)
  const v = n / 1024 ** i
  if (i >= 3) return `${v % 1 === 0 ? Math.round(v) : v.toFixed(2)} ${units[i]}`
  return `${v >= 10 || v % 1 === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`
}

/** A video's duration, resolution and size in one line ("0:04 · 320 × 240 · 3.4 MB"); null when none is known yet. */
export function mediaFacts(v: { duration?: number | null, width?: number | null, height?: number | null,
  size?: number | null }): string | null {
  const parts: string[] = []
  if (v.duration != null && Number.isFinite(v.duration) && v.duration >= 0) parts.push(stopwatch(v.duration))
  if (v.width && v.height) parts.push(`${v.width} × ${v.height}`)
  if (v.size != null && v.size > 0) parts.push(bytes(v.size))
  return parts.length ? parts.join(' · ') : null
}

const dateFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })
const dayFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })

export function dateTime(iso: string | null | undefined): string {
  const d = iso ? new Date(iso) : null
  return d && !Number.isNaN(d.getTime()) ? dateFmt.format(d) : '—'
}

export function day(iso: string | null | undefined): string {
  const d = iso ? new Date(iso) : null
  return d && !Number.isNaN(d.getTime()) ? dayFmt.format(d) : '—'
}

export const STATUS_LABELS: Record<string, string> = {
  uploading: 'Uploading',
  uploaded: 'Uploaded',
  sending: 'Sending',
  validating: 'Validating',
  pending: 'Pending',
  queued: 'Queued',
  indexing: 'Indexing',
  ready: 'Ready',
  failed: 'Failed',
  missing: 'Deleted',
  interrupted: 'Interrupted — resume or discard', // an upload whose page was closed (status-poller.ts)
}

/** Under an interrupted upload's tile: where to resume it, and how to get rid of it. */
export const INTERRUPTED_HINT = 'The upload page was closed before the file was sent. Open Upload in the browser '
  + 'that started it to resume, or delete this video.'

export function statusLabel(status: string): string {
  return STATUS_LABELS[status] ?? (status ? status[0].toUpperCase() + status.slice(1) : 'Unknown')
}

/** Statuses that will change on their own, so the page keeps asking for them. */
const IN_FLIGHT = new Set(['uploading', 'sending', 'validating', 'pending', 'queued', 'indexing'])
export const isInFlight = (status: string): boolean => IN_FLIGHT.has(status)

/** Title from a file name: extension dropped, separators turned into spaces. */
export function titleFromFilename(name: string): string {
  const base = name.replace(/\.[^./\\]{1,8}$/, '')
  const t = base.replace(/[_]+/g, ' ').replace(/\s+/g, ' ').trim()
  return t || name
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`
}

/** Why POST /index skipped videos (its machine codes), as a phrase that reads after a count: "2 already indexed". */
const SKIP_REASONS: Record<string, [string, string]> = {
  already_indexed: ['is already indexed', 'are already indexed'],
  in_flight: ['is already being indexed', 'are already being indexed'],
  not_stored: ['has not finished uploading', 'have not finished uploading'],
  not_found: ['no longer exists', 'no longer exist'],
}

/** "Not sent: 1 video has not finished uploading; 2 videos are already indexed." from {code: count}. */
export function skippedSentence(counts: Record<string, number>): string {
  const parts = Object.entries(counts).filter(([, n]) => n > 0).map(([code, n]) => {
    const [one, many] = SKIP_REASONS[code] ?? ['could not be sent', 'could not be sent']
    return `${n} ${n === 1 ? 'video' : 'videos'} ${n === 1 ? one : many}`
  })
  return parts.length ? `Not sent: ${parts.join('; ')}.` : ''
}

/** Why one video was not sent for indexing: "This video is already indexed, so it was not sent for indexing." */
export function skippedOne(code: string | undefined): string {
  const [one] = SKIP_REASONS[code ?? ''] ?? ['could not be sent']
  return `This video ${one}, so it was not sent for indexing.`
}

/** Elapsed time as a stopwatch shows it: "0:07", "1:23", "1:02:03" (whole seconds, rounded down as players do).
 * Also a video's duration on tiles and the video page, so both read the same. */
export function stopwatch(seconds: number): string {
  const s = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0))
  const hh = Math.floor(s / 3600)
  const mm = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`
}

/** A rough time left, in words: "less than a minute", "about 2 min", "about 1 h 10 min". */
export function roughly(seconds: number): string {
  if (seconds < 60) return 'less than a minute'
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return `about ${minutes} min`
  const h = Math.floor(minutes / 60)
  const m = minutes % 60
  return m ? `about ${h} h ${m} min` : `about ${h} h`
}

/** What the Video JSON and the status poll say about an indexing run while it is in flight. */
export interface IndexClock {
  index_started_at?: string | null
  /** percent Twelve Labs reported; null when it reports none (its API v1.3 does not) */
  index_progress?: number | null
  /** expected length of the whole run, from the video's duration */
  index_estimate_seconds?: number | null
}

const INDEXING_STATUSES = new Set(['sending', 'validating', 'pending', 'queued', 'indexing'])

/**
 * The line under an indexing video: "Indexing — 40 %" where Twelve Labs reports progress, else the elapsed time
 * and what the estimate leaves: "Indexing — 1:23 elapsed, about 2 min left". Null when the video is not indexing.
 */
export function indexingText(status: string, clock: IndexClock, now: number = Date.now()): string | null {
  if (!INDEXING_STATUSES.has(status)) return null
  const pct = clock.index_progress
  if (pct != null && Number.isFinite(pct)) return `Indexing — ${Math.round(Math.min(Math.max(pct, 0), 100))} %`
  const started = clock.index_started_at ? Date.parse(clock.index_started_at) : NaN
  if (Number.isNaN(started)) return 'Indexing — starting'
  const elapsed = Math.max(0, (now - started) / 1000) // a browser clock behind the server's reads as 0:00
  const head = `Indexing — ${stopwatch(elapsed)} elapsed`
  const estimate = clock.index_estimate_seconds
  if (estimate == null || !Number.isFinite(estimate) || estimate <= 0) return head
  const left = estimate - elapsed
  return left > 0 ? `${head}, ${roughly(left)} left` : `${head}, taking longer than expected`
}
