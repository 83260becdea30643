/** Typed client for the public functions, exactly as api/openapi.yaml describes them. */
import { idToken } from './auth'
import type { AppConfig } from './config'

export type VideoStatus =
  | 'uploading' | 'uploaded' | 'sending' | 'validating' | 'pending' | 'queued' | 'indexing' | 'ready' | 'failed'

export interface Video {
  id: string
  title: string
  owner?: string
  created_at?: string
  updated_at?: string
  status: VideoStatus | string
  status_reason?: string | null
  duration?: number | null
  size?: number | null
  width?: number | null
  height?: number | null
  thumbnail_url?: string | null
  playback_url?: string | null
  indexed?: boolean
  /** whether the signed-in caller may delete it (its uploader or an admin); false when signed out */
  can_delete?: boolean
  /** whether the signed-in caller may change its title and description (the same rule as can_delete) */
  can_edit?: boolean
  description?: string
  /** while indexing is in flight: when the run began, Twelve Labs' percentage (if any), the run's estimate */
  index_started_at?: string | null
  index_progress?: number | null
  index_estimate_seconds?: number | null
  /** topics and hashtags (generated, or as the owner edited them), lower case */
  tags?: string[]
}

/** GET /me: who the caller is and what they may do (README "Who may do what"). */
export interface Me {
  uid: string
  email: string
  email_verified: boolean
  /** may upload, index by selection and delete their own videos */
  member: boolean
  /** may also delete any video, delete all, reset, sync, index all and re-index */
  admin: boolean
  public_read: boolean
}

export interface StatusEntry {
  status: string
  status_reason?: string | null
  thumbnail_url?: string | null
  updated_at?: string
  /** only while indexing is in flight (as in Video) */
  index_started_at?: string | null
  index_progress?: number | null
  index_estimate_seconds?: number | null
}

export interface Clip {
  start: number
  end: number
  /** place in the whole search, 1 = best (Twelve Labs gives no relevance score) */
  rank?: number | null
  thumbnail_url?: string | null
  /** what found it: "visual" (picture, on-screen text), "speech", "sound"; empty when unknown */
  matched?: string[]
  /** the words said during the clip, when speech was searched */
  transcript?: string | null
  /** the video's chapter holding the clip's start (null when the video has no chapters) */
  chapter?: { index: number; title: string; start: number; end: number } | null
}

export interface SearchResult { video: Video; clips: Clip[] }
/** A text search (`kind` "text", `query` the words) or an image search (`kind` "image", `query` null). */
export interface SearchPage {
  query: string | null
  kind?: 'text' | 'image'
  results: SearchResult[]
  next_page_token: string | null
}

/** A stretch of the video with a title and a one-line summary (chapters and highlights). */
export interface Chapter { start: number; end: number; title: string; summary: string }
export interface TranscriptLine { start: number; end: number; text: string }
export type InsightState = 'none' | 'queued' | 'generating' | 'ready' | 'failed' | 'skipped' | 'waiting'
/** GET /videos/{id}/insights: what Twelve Labs made of the video, and where making it stands. */
export interface Insights {
  video_id: string
  state: InsightState | string
  /** why skipped / failed / waiting, and what to do, for people */
  message: string | null
  generated_at: string | null
  summary: string | null
  title_suggestion: string | null
  topics: string[]
  hashtags: string[]
  chapters: Chapter[]
  highlights: Chapter[]
  transcript: TranscriptLine[]
  /** the caller may ask for it again (the uploader or an admin) */
  can_regenerate: boolean
}
export interface VideoPage { videos: Video[]; total: number; page: number; page_size: number }
export interface UploadStart {
  video_id: string
  params: string
  signature: string
  fields: Record<string, string>
  service_url?: string
  expires?: string
}

/** An error from a function (or the network: status 0) with a message fit to show a person. */
export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message)
  }
}

type FunctionName = keyof AppConfig['functions']
interface RequestOpts {
  method?: 'GET' | 'POST' | 'PATCH'
  body?: unknown
  /** multipart body instead of JSON (the browser sets its Content-Type with the boundary) */
  form?: FormData
  /** what the caller reads: JSON (default) or text (captions) */
  accept?: string
  query?: Record<string, string | number | undefined | null>
  auth?: 'required' | 'optional'
  headers?: Record<string, string>
  signal?: AbortSignal
}

let config: AppConfig | null = null
let onUnauthorized: (() => void) | null = null

export function configureApi(c: AppConfig, unauthorized: () => void): void {
  config = c
  onUnauthorized = unauthorized
}

function url(fn: FunctionName, path: string, query?: RequestOpts['query']): string {
  if (!config) throw new Error('api not configured')
  // A function's base may carry a path (…cloudfunctions.net/library), so join by string, not new URL(path, base).
  const base = config.functions[fn].replace(/\/+$/, '')
  const qs = new URLSearchParams()
  for (const [k, v] of Object.entries(query ?? {})) if (v != null && v !== '') qs.set(k, String(v))
  const q = qs.toString()
  return `${base}${path}${q ? `?${q}` : ''}`
}

/** Messages for error codes whose server text is not written for the person reading it. */
const CODE_MESSAGES: Record<string, string> = {
  not_found: 'Not found. It may have been deleted, or the link is wrong.',
  query_too_long: 'That search is too long: use at most 500 characters, then search again.',
  empty_query: 'Type something to search for.',
  invalid_page_token: 'These results are no longer available. Run the search again.',
  page_token_expired: 'These results have expired. Run the search again.',
  method_not_allowed: 'That action is not available here. Reload the page and try again.',
  no_transcript: 'This video has no transcript yet, so there are no captions to download.',
}

/** A server message as a sentence: first letter capitalised, ends with a full stop (some answers are terse API text). */
export function asSentence(text: string): string {
  const t = text.trim()
  if (!t) return t
  const first = t[0].toUpperCase() + t.slice(1)
  return /[.!?…]$/.test(first) ? first : `${first}.`
}

/** Readable message for a failed call; the server's own message wins for 4xx because it names the problem. */
function messageFor(status: number, code: string, serverMessage: string | undefined): string {
  if (status === 401) return 'Your session has expired or you are not signed in. Please sign in again.'
  if (CODE_MESSAGES[code]) return CODE_MESSAGES[code]
  const server = serverMessage ? asSentence(serverMessage) : ''
  if (status === 403) return server || 'You are not allowed to do that.'
  if (status === 404) return server || CODE_MESSAGES.not_found
  if (status === 413) return server || 'That file is too large.'
  // a daily limit says when it resets; other 429s are the generic "slow down"
  if (status === 429) return code === 'insights_daily_limit' && server ? server : 'Too many requests right now. Wait a moment and try again.'
  if (status >= 500) return 'The server had a problem. Try again in a moment.'
  return server || `The request could not be completed (error ${status}). Check what you entered and try again.`
}

/** True when sending the same request again may work: no answer, a time-out, too many requests, a server error.
 * A 4xx (bad input, not found, not allowed) fails the same way every time, so no "Try again" is offered. */
export function canRetry(err: unknown): boolean {
  if (!(err instanceof ApiError)) return false
  return err.status === 0 || err.status === 408 || err.status === 429 || err.status >= 500
}

export interface RawResponse<T> { status: number; data: T | null; etag: string | null }

/** Send one request: bearer token, one silent token refresh on 401; a failed answer becomes an ApiError. */
async function send(fn: FunctionName, path: string, opts: RequestOpts): Promise<Response> {
  const attempt = async (forceRefresh: boolean): Promise<Response> => {
    const headers: Record<string, string> = { Accept: opts.accept ?? 'application/json', ...(opts.headers ?? {}) }
    const token = await idToken(forceRefresh)
    if (token) headers.Authorization = `Bearer ${token}`
    else if (opts.auth === 'required') throw new ApiError(401, 'unauthenticated', 'Please sign in to do this.')
    let body: string | FormData | undefined
    if (opts.form) {
      body = opts.form
    } else if (opts.body !== undefined) {
      headers['Content-Type'] = 'application/json'
      body = JSON.stringify(opts.body)
    }
    try {
      // no-store: answers carry short-lived presigned URLs and live statuses; a cached copy would be wrong.
      return await fetch(url(fn, path, opts.query), {
        method: opts.method ?? 'GET', headers, body, signal: opts.signal, cache: 'no-store',
      })
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err
      throw new ApiError(0, 'network', 'Could not reach the server. Check your connection and try again.')
    }
  }

  let resp = await attempt(false)
  if (resp.status === 401 && (await idToken()) != null) resp = await attempt(true)
  if (resp.ok || resp.status === 304) return resp
  let data: unknown = null
  try { data = JSON.parse(await resp.text()) } catch { data = null }
  const err = (data as { error?: { code?: string; message?: string } } | null)?.error
  if (resp.status === 401) onUnauthorized?.()
  throw new ApiError(resp.status, err?.code ?? '', messageFor(resp.status, err?.code ?? '', err?.message))
}

/** One call to a function: JSON in and out, bearer token, one silent token refresh on 401. */
export async function call<T>(fn: FunctionName, path: string, opts: RequestOpts = {}): Promise<RawResponse<T>> {
  const resp = await send(fn, path, opts)
  if (resp.status === 304) return { status: 304, data: null, etag: resp.headers.get('ETag') }
  let data: unknown = null
  const text = await resp.text()
  if (text) {
    try { data = JSON.parse(text) } catch { data = null }
  }
  return { status: resp.status, data: data as T, etag: resp.headers.get('ETag') }
}

async function json<T>(fn: FunctionName, path: string, opts: RequestOpts = {}): Promise<T> {
  const r = await call<T>(fn, path, opts)
  return r.data as T
}

// ---- upload_status ----
export const startUpload = (body: { title: string; filename: string; size: number; type: string }) =>
  json<UploadStart>('upload_status', '/uploads', { method: 'POST', body, auth: 'required' })

/** Batched status; pass the last ETag to get a 304 (data null) when nothing changed. */
export const fetchStatuses = (ids: string[], etag: string | null, signal?: AbortSignal) =>
  call<{ videos: Record<string, StatusEntry>; missing: string[] }>('upload_status', '/status', {
    method: 'POST', body: { ids }, headers: etag ? { 'If-None-Match': etag } : {}, signal,
  })

// ---- index_videos ----
export const indexVideos = (body: { ids?: string[]; all?: boolean; reindex?: boolean }) =>
  json<{ queued: string[]; skipped: Record<string, string> }>('index_videos', '/index', { method: 'POST', body, auth: 'required' })

// ---- library ----
export const getMe = () => json<Me>('library', '/me', { auth: 'required' })

export const listVideos = (page: number, pageSize: number, signal?: AbortSignal) =>
  json<VideoPage>('library', '/videos', { query: { page, page_size: pageSize }, signal })

export const getVideo = (id: string, signal?: AbortSignal) =>
  json<Video>('library', `/videos/${encodeURIComponent(id)}`, { signal })

export const deleteVideos = (body: { ids?: string[]; all?: boolean }) =>
  json<{ results: Record<string, { ok: boolean; error: string | null }> }>('library', '/videos/delete', {
    method: 'POST', body, auth: 'required',
  })

export const resetLibrary = () => json<{ deleted: number }>('library', '/reset', { method: 'POST', body: {}, auth: 'required' })

export const searchVideos = (q: string, options: string, pageToken: string | null, signal?: AbortSignal) =>
  json<SearchPage>('library', '/search', { query: { q, options, page_token: pageToken }, signal })

/** POST /search/image: clips like the picture, grouped by video; later pages come from GET /search?page_token=. */
export function searchImage(image: Blob, filename: string, signal?: AbortSignal): Promise<SearchPage> {
  const form = new FormData()
  form.append('image', image, filename)
  return json<SearchPage>('library', '/search/image', { method: 'POST', form, signal })
}

/** A later page of an image search (its token says what was searched). */
export const searchImagePage = (pageToken: string, signal?: AbortSignal) =>
  json<SearchPage>('library', '/search', { query: { page_token: pageToken }, signal })

export const syncBucket = () => json<{ added: string[] }>('library', '/sync', { method: 'POST', body: {}, auth: 'required' })

// ---- finding videos (README "Finding videos") ----
export type FindSort = 'newest' | 'oldest' | 'title' | 'duration'
/** GET /videos with a title search, filters and a sort; `from`/`to` are ISO times (to exclusive) or dates. */
export interface FindParams {
  q?: string
  owner?: 'mine' | 'everyone'
  status?: string
  from?: string
  to?: string
  sort?: FindSort
  /** one tag the videos must have (lower case, as stored) */
  tag?: string
  cursor?: string | null
  page_size?: number
}
/** One found page; `total` is known on a first page whose whole filter the database applies, else null. */
export interface FoundPage { videos: Video[]; next_cursor: string | null; page_size: number; total: number | null }

export const findVideos = (params: FindParams, signal?: AbortSignal) =>
  json<FoundPage>('library', '/videos', { query: { ...params }, signal })

/** PATCH /videos/{id}: the uploader or an admin changes the title, description and/or tags; returns the video. */
export const editVideo = (id: string, body: { title?: string; description?: string; tags?: string[] }) =>
  json<Video>('library', `/videos/${encodeURIComponent(id)}`, { method: 'PATCH', body, auth: 'required' })

// ---- insights (summary, chapters, highlights, tags, transcript) ----
export const getInsights = (id: string, signal?: AbortSignal) =>
  json<Insights>('library', `/videos/${encodeURIComponent(id)}/insights`, { signal })

/** POST /videos/{id}/insights: make them again (the uploader or an admin); answers 202 with state "queued". */
export const regenerateInsights = (id: string) =>
  json<Insights>('library', `/videos/${encodeURIComponent(id)}/insights`, { method: 'POST', body: {}, auth: 'required' })

/** GET /videos/{id}/captions.vtt as a Blob (WebVTT); with the token, so it also works when reading needs sign-in. */
export async function fetchCaptions(id: string, signal?: AbortSignal): Promise<Blob> {
  const resp = await send('library', `/videos/${encodeURIComponent(id)}/captions.vtt`, { accept: 'text/vtt', signal })
  return new Blob([await resp.text()], { type: 'text/vtt' })
}
