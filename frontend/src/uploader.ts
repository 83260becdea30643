/**
 * Uppy (Dashboard + Transloadit) wired to our upload_status function. Loaded lazily by the upload page only,
 * so the library, video and search pages never download Uppy.
 */
import Uppy, { type UppyFile } from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import Transloadit from '@uppy/transloadit'
import '@uppy/core/css/style.min.css'
import '@uppy/dashboard/css/style.min.css'
import { ApiError, startUpload } from './api'
import type { AppConfig } from './config'

type Meta = Record<string, never>
type Body = Record<string, never>
export type UploadFile = UppyFile<Meta, Body>

export interface UploaderHooks {
  /** The title to send to POST /uploads (read when the upload starts, so edits up to then count). */
  getTitle: () => string
  onFileAdded: (file: UploadFile) => void
  onFileRemoved: () => void
  onProgress: (percent: number, bytesUploaded: number, bytesTotal: number) => void
  onPaused: (paused: boolean) => void
  /** The browser lost (true) or regained (false) its connection; tus resumes by itself once back. */
  onOffline: (offline: boolean) => void
  onError: (message: string) => void
  onRestriction: (message: string) => void
  onSuccess: (videoId: string) => void
}

/** Video file extensions accepted even when the browser reports no MIME type for the file. */
const VIDEO_EXTENSIONS = ['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.mpg', '.mpeg', '.ogv', '.3gp', '.wmv', '.flv', '.mts', '.m2ts']

/** TransloadIt error codes that mean the signed params were refused (expired, reused or wrong). */
const SIGNATURE_ERRORS = new Set([
  'AUTH_EXPIRED', 'INVALID_SIGNATURE', 'NO_SIGNATURE_FIELD', 'NO_AUTH_EXPIRES_PARAMETER', 'SIGNATURE_REUSE_DETECTED',
  'GET_ACCOUNT_UNKNOWN_AUTH_KEY',
])

/** Turn whatever Uppy, tus, TransloadIt or our API threw into one sentence a person can act on. */
export function uploadErrorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 401) return 'Your session has expired. Sign in again, then press Retry.'
    if (err.status === 0) return 'Could not reach the server to start the upload. Check your connection, then press Retry.'
    return err.message
  }
  const e = err as {
    message?: string; details?: string; isNetworkError?: boolean; assembly?: { error?: string; message?: string }
  } | null
  const text = `${e?.message ?? ''} ${e?.details ?? ''}`
  // Uppy wraps TransloadIt's code ("Transloadit: Could not create Assembly: AUTH_EXPIRED"); find the code itself.
  const code = e?.assembly?.error ?? text.match(/\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/)?.[0] ?? ''
  if (SIGNATURE_ERRORS.has(code)) {
    return 'The upload permission expired or was refused before the upload started. Press Retry to get a fresh one.'
  }
  if (e?.isNetworkError || /network|failed to fetch|offline|connection/i.test(text)) {
    return 'The connection dropped. Check your network and press Retry: the upload continues where it stopped.'
  }
  if (code) return `The upload service refused the upload (${code}${e?.assembly?.message ? `: ${e.assembly.message}` : ''}).`
  const message = (e?.message ?? '').replace(/^Transloadit:\s*/, '')
  return `The upload failed: ${message || 'unknown error'}.`
}

export function createUploader(config: AppConfig, target: HTMLElement, hooks: UploaderHooks): Uppy<Meta, Body> {
  let videoId: string | null = null

  const uppy = new Uppy<Meta, Body>({
    id: 'video-upload',
    autoProceed: false,
    allowMultipleUploadBatches: false,
    restrictions: {
      maxFileSize: config.uploadMaxBytes,
      maxNumberOfFiles: 1,
      allowedFileTypes: ['video/*', ...VIDEO_EXTENSIONS],
    },
  })

  uppy.use(Dashboard, {
    inline: true,
    target,
    width: '100%',
    height: 300,
    theme: 'light',
    hideUploadButton: true, // our own Upload button sits next to the title field
    disableStatusBar: true, // our own progress bar and controls, with test ids and labels
    disableInformer: true, // errors are shown (and announced) once, in our own alert next to the form
    proudlyDisplayPoweredByUppy: false,
    showRemoveButtonAfterComplete: false,
    fileManagerSelectionType: 'files',
    note: `Video files up to ${formatLimit(config.uploadMaxBytes)}`,
    locale: { strings: { dropPasteFiles: 'Drop a video here or %{browseFiles}', browseFiles: 'choose a file' } },
  })

  uppy.use(Transloadit, {
    service: config.transloadit.serviceUrl,
    waitForEncoding: false, // the video page follows the processing through /status
    waitForMetadata: false,
    errorReporting: false,
    // Called once per upload batch (one file here): our function creates the video record and signs the params.
    assemblyOptions: async () => {
      const file = uppy.getFiles()[0]
      const start = await startUpload({
        title: hooks.getTitle(),
        filename: file.name ?? 'video',
        size: file.size ?? 0,
        type: file.type || 'video/mp4',
      })
      videoId = start.video_id
      // params is passed as the exact signed string; re-serialising it would break the signature.
      return { params: start.params, signature: start.signature, fields: start.fields ?? { video_id: start.video_id } }
    },
  })

  uppy.on('file-added', (file) => hooks.onFileAdded(file))
  uppy.on('file-removed', () => { if (uppy.getFiles().length === 0) hooks.onFileRemoved() })
  uppy.on('upload-progress', () => {
    const files = uppy.getFiles()
    const total = files.reduce((n, f) => n + (f.progress.bytesTotal ?? f.size ?? 0), 0)
    const done = files.reduce((n, f) => n + (f.progress.bytesUploaded || 0), 0)
    hooks.onProgress(total ? Math.floor((done / total) * 100) : 0, done, total)
  })
  uppy.on('upload-pause', (_file, paused) => hooks.onPaused(Boolean(paused)))
  uppy.on('pause-all', () => hooks.onPaused(true))
  uppy.on('resume-all', () => hooks.onPaused(false))
  uppy.on('is-offline', () => hooks.onOffline(true))
  uppy.on('back-online', () => hooks.onOffline(false))
  uppy.on('upload-error', (_file, error) => hooks.onError(uploadErrorMessage(error)))
  uppy.on('restriction-failed', (file, error) => {
    if (file?.size != null && file.size > config.uploadMaxBytes) hooks.onRestriction(`“${file.name}” is too large. The limit is ${formatLimit(config.uploadMaxBytes)}.`)
    else if (/type|allowed|only upload/i.test(error.message)) hooks.onRestriction('Only video files can be uploaded.')
    else hooks.onRestriction(error.message)
  })
  uppy.on('complete', (result) => {
    if (result.successful?.length && videoId && !result.failed?.length) hooks.onSuccess(videoId)
  })
  return uppy
}

/** Start (or retry) the upload; resolves when done or failed — failures are reported through the hooks. */
export async function runUpload(uppy: Uppy<Meta, Body>, hooks: Pick<UploaderHooks, 'onError'>): Promise<void> {
  try {
    const failed = uppy.getFiles().some((f) => f.error)
    await (failed ? uppy.retryAll() : uppy.upload())
  } catch (err) {
    // An error before the assembly exists (e.g. POST /uploads refused) leaves Uppy locked; unlock so Retry works.
    uppy.setState({ allowNewUpload: true })
    hooks.onError(uploadErrorMessage(err))
  }
}

function formatLimit(n: number): string {
  const gb = n / 1e9
  return gb >= 1 ? `${gb.toFixed(gb >= 10 ? 0 : 1)} GB` : `${Math.round(n / 1e6)} MB`
}
