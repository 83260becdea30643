/** Live status: one batched POST /status for every watched video, with ETag (304 = nothing new) and backoff. */
import { fetchStatuses, type StatusEntry } from './api'
import { isInFlight as stillMoving } from './format'

/** An upload whose page stopped reporting progress (closed tab): shown as the status `interrupted` ("resume or
 * discard"); it stays watched, since resuming turns it back into `uploading` and a long silence into `failed`. */
export const INTERRUPTED = 'interrupted'
const isInFlight = (status: string): boolean => status === INTERRUPTED || stillMoving(status)

/** The entry as pages show it: `status: interrupted` for an upload whose page is gone. */
function shown(entry: StatusEntry & { interrupted?: boolean }): StatusEntry {
  return entry.interrupted && entry.status === 'uploading' ? { ...entry, status: INTERRUPTED } : entry
}

const MAX_IDS = 100 // the endpoint's cap per call
const BASE_DELAY = 1500
const MAX_IDLE_DELAY = 15000
const MAX_ERROR_DELAY = 30000

export interface PollerEvents {
  /** Entries that changed since the last answer (new status, reason or thumbnail). */
  onChange: (changes: Record<string, StatusEntry>) => void
  /** Ids the server no longer knows (deleted elsewhere). */
  onMissing?: (ids: string[]) => void
  /** Polling trouble (true) or recovery (false), to show a quiet hint instead of failing the page. */
  onTrouble?: (trouble: boolean) => void
}

/**
 * Watches ids until their status is stable (uploaded/ready/failed). Stops by itself when nothing is in flight,
 * pauses while the tab is hidden, and backs off when answers do not change or calls fail.
 */
export class StatusPoller {
  private watched = new Map<string, StatusEntry | null>()
  private etag: string | null = null
  private etagKey = ''
  private delay = BASE_DELAY
  private timer: number | null = null
  private inFlight = false
  private stopped = false
  private trouble = false
  private abort = new AbortController()
  private onVisibility = () => { if (!document.hidden) this.poke() }

  constructor(private events: PollerEvents) {
    document.addEventListener('visibilitychange', this.onVisibility)
  }

  /** Start watching `id` (with its last known status); stable statuses are ignored. */
  watch(id: string, status: string, entry: StatusEntry | null = null): void {
    if (!isInFlight(status)) { this.watched.delete(id); return }
    const fresh = !this.watched.has(id)
    this.watched.set(id, entry ?? { status })
    if (fresh) { this.delay = BASE_DELAY; this.schedule(BASE_DELAY) }
  }

  unwatch(id: string): void {
    this.watched.delete(id)
  }

  /** Poll soon (after a user action that changes statuses). */
  poke(): void {
    this.delay = BASE_DELAY
    this.schedule(300)
  }

  stop(): void {
    this.stopped = true
    this.abort.abort()
    if (this.timer != null) clearTimeout(this.timer)
    document.removeEventListener('visibilitychange', this.onVisibility)
  }

  private schedule(ms: number): void {
    if (this.stopped || this.watched.size === 0) return
    if (this.timer != null) clearTimeout(this.timer)
    this.timer = window.setTimeout(() => void this.tick(), ms)
  }

  private async tick(): Promise<void> {
    this.timer = null
    if (this.stopped || this.inFlight || this.watched.size === 0) return
    if (document.hidden) return // resumed by visibilitychange
    const ids = [...this.watched.keys()].slice(0, MAX_IDS)
    const key = ids.join(',')
    if (key !== this.etagKey) { this.etag = null; this.etagKey = key } // an ETag only describes the same id set
    this.inFlight = true
    let changed = false
    try {
      const r = await fetchStatuses(ids, this.etag, this.abort.signal)
      if (this.trouble) { this.trouble = false; this.events.onTrouble?.(false) }
      if (r.status !== 304 && r.data) {
        this.etag = r.etag
        changed = this.apply(r.data.videos ?? {}, r.data.missing ?? [])
      }
      this.delay = changed ? BASE_DELAY : Math.min(this.delay * 1.5, MAX_IDLE_DELAY)
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') return
      if (!this.trouble) { this.trouble = true; this.events.onTrouble?.(true) }
      this.delay = Math.min(Math.max(this.delay, BASE_DELAY) * 2, MAX_ERROR_DELAY)
    } finally {
      this.inFlight = false
    }
    // Rotate so more than MAX_IDS watched videos all get their turn.
    if (this.watched.size > MAX_IDS) {
      for (const id of ids) {
        const v = this.watched.get(id)
        if (v !== undefined) { this.watched.delete(id); this.watched.set(id, v) }
      }
    }
    this.schedule(this.delay)
  }

  private apply(videos: Record<string, StatusEntry>, missing: string[]): boolean {
    const changes: Record<string, StatusEntry> = {}
    for (const [id, raw] of Object.entries(videos)) {
      const entry = shown(raw)
      const prev = this.watched.get(id)
      if (!prev || prev.status !== entry.status || (prev.status_reason ?? null) !== (entry.status_reason ?? null) ||
          (prev.thumbnail_url ?? null) !== (entry.thumbnail_url ?? null)) {
        changes[id] = entry
      }
      if (isInFlight(entry.status)) this.watched.set(id, entry)
      else this.watched.delete(id)
    }
    for (const id of missing) this.watched.delete(id)
    if (missing.length) this.events.onMissing?.(missing)
    const any = Object.keys(changes).length > 0
    if (any) this.events.onChange(changes)
    return any || missing.length > 0
  }
}
