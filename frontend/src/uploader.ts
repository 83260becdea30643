/**
 * Uppy (Dashboard + Transloadit + Golden Retriever) wired to our upload_status function. Loaded lazily by the
 * upload page only, so the library, video and search pages never download Uppy.
 *
 * Resuming: Golden Retriever keeps the file (IndexedDB, up to RESTORABLE_BYTES), the tus upload URL and the
 * assembly in the browser, so after a reload or a browser restart the page offers to resume; tus asks the server
 * how much arrived (HEAD) and sends the rest (PATCH from that offset). The video id rides in the file's meta.
 */
import Uppy, { type UppyFile } from '@uppy/core'
import Dashboard from '@uppy/dashboard'
import GoldenRetriever from '@uppy/golden-retriever'
import Transloadit from '@uppy/transloadit'
import '@uppy/core/css/style.min.css'
import '@uppy/dashboard/css/style.min.css'
import { ApiError, startUpload } from './api'
import { discardUpload } from './upload-api'
import type { AppConfig } from './config'

type Meta = { video_id?: string }
type Body = Record<string, never>
export type UploadFile = UppyFile<Meta, Body>
export type Uploader = Uppy<Meta, Body>

/** Files up to this size are kept in the browser so a restart can resume them; larger ones are chosen again. */
const RESTORABLE_BYTES = 2 * 1024 ** 3

/** What the page shows about an upload found after a reload or a restart. */
export interface RestoredUpload {
  videoId: string | null
  name: string
  percent: number
  bytesUploaded: number
  bytesTotal: number
  /** The browser kept no copy of the file: the person must choose the same file again before resuming. */
  needsFile: boolean
}

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
  /** POST /uploads answered: the video record exists (its id is needed for the heartbeat and for discarding). */
  onStarted: (videoId: string) => void
  /** An interrupted upload was found in this browser (after a reload or a restart). */
  onRestored: (upload: RestoredUpload) => void
}

/** Video file extensions accepted even when the browser reports no MIME type for the file. */
const VIDEO_EXTENSIONS = ['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.mpg', '.mpeg', '.ogv', '.3gp', '.wmv', '.flv', '.mts', '.m2ts']

/** TransloadIt error codes that mean the signed params were refused (expired, reused or wrong). */
const SIGNATURE_ERRORS = new Set([
  'AUTH_EXPIRED', 'INVALID_SIGNATURE', 'NO_SIGNATURE_FIELD', 'NO_AUTH_EXPIRES_PARAMETER', 'SIGNATURE_REUSE_DETECTED',
  'GET_ACCOUNT_UNKNOWN_AUTH_KEY',
])

/** The sentence for a file the upload would refuse (empty, not a video, too large), or null when it is fine. */
export function refusalFor(file: { name?: string; size?: number | null; type?: string }, maxBytes: number): string | null {
  const name = file.name || 'This file'
  const ext = (name.match(/\.[^./\\]+$/)?.[0] ?? '').toLowerCase()
  const type = (file.type ?? '').toLowerCase()
  const generic = type === '' || type === 'application/octet-stream' || type === 'application/x-matroska' || type === 'application/mxf'
  if (file.size === 0) return `“${name}” is empty (0 bytes). Choose a video file that has content.`
  if (!type.startsWith('video/') && !(generic && VIDEO_EXTENSIONS.includes(ext))) {
    return `“${name}” is not a video file. Choose a video file, for example an .mp4 or .mov file.`
  }
  if (file.size != null && file.size > maxBytes) {
    return `“${name}” is too large: the limit is ${formatLimit(maxBytes)}. Choose a smaller file, or shorten or compress the video first.`
  }
  return null
}

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
  if (code === 'ASSEMBLY_CANCELED' || code === 'ASSEMBLY_EXPIRED' || /\btus: .*(40[49]|410)\b/.test(text)) {
    return 'This upload was stopped while the page was away, so it cannot continue. Press Cancel, then upload the file again.'
  }
  if (code) {
    return `The upload service refused the upload (${code}${e?.assembly?.message ? `: ${e.assembly.message}` : ''}). Press Retry; if it fails again, press Cancel and upload the file again.`
  }
  const message = (e?.message ?? '').replace(/^Transloadit:\s*/, '').replace(/[.\s]+$/, '')
  return `The upload failed (${message || 'unknown error'}). Press Retry; if it fails again, press Cancel and upload the file again.`
}

export function createUploader(config: AppConfig, target: HTMLElement, hooks: UploaderHooks): Uppy<Meta, Body> {
  let videoId: string | null = null

  const uppy = new Uppy<Meta, Body>({
    id: 'video-upload',
    autoProceed: false,
    allowMultipleUploadBatches: false,
    restrictions: {
      minFileSize: 1,
      maxFileSize: config.uploadMaxBytes,
      maxNumberOfFiles: 1,
      allowedFileTypes: ['video/*', ...VIDEO_EXTENSIONS],
    },
    // Our own check first, so the person reads one plain sentence (Uppy's restrictions stay as a backstop).
    onBeforeFileAdded: (file) => {
      const refusal = refusalFor({ name: file.name, size: file.size, type: file.type }, config.uploadMaxBytes)
      if (refusal == null) return true
      hooks.onRestriction(refusal)
      return false
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
      // A restored file whose tus state was not saved (closed within a second of starting) starts over: its
      // earlier record would only linger as an interrupted upload, so it goes first.
      if (file.meta.video_id) await discardUpload(file.meta.video_id).catch(() => undefined)
      const start = await startUpload({
        title: hooks.getTitle(),
        filename: file.name ?? 'video',
        size: file.size ?? 0,
        type: file.type ?? '', // no type: the server goes by the file name's extension
      })
      videoId = start.video_id
      uppy.setFileMeta(file.id, { video_id: start.video_id }) // kept by Golden Retriever for a resume
      hooks.onStarted(start.video_id)
      // params is passed as the exact signed string; re-serialising it would break the signature.
      return { params: start.params, signature: start.signature, fields: start.fields ?? { video_id: start.video_id } }
    },
  })

  // After Transloadit, so its 'restored' handler (which reconnects the assembly) is installed first.
  uppy.use(GoldenRetriever, {
    expires: 24 * 60 * 60 * 1000,
    // Passed through to its IndexedDB store (the option type only declares name/version).
    indexedDB: { maxFileSize: RESTORABLE_BYTES, maxTotalSize: RESTORABLE_BYTES } as { name?: string },
  })
  const reportRestored = () => {
    const file = uppy.getFiles()[0]
    if (!file || file.progress.uploadComplete) return
    videoId = file.meta.video_id ?? null
    const total = file.progress.bytesTotal ?? file.size ?? 0
    const done = file.progress.bytesUploaded || 0
    hooks.onRestored({
      videoId, name: file.name ?? 'video', bytesUploaded: done, bytesTotal: total,
      percent: total ? Math.floor((done / total) * 100) : 0, needsFile: Boolean(file.isGhost),
    })
  }
  uppy.on('restored', reportRestored)

  uppy.on('file-added', (file) => {
    // The same file chosen again for a restored upload whose copy the browser did not keep: it can resume now.
    if (file.isRestored) { reportRestored(); return }
    hooks.onFileAdded(file)
  })
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
    const refusal = file ? refusalFor({ name: file.name, size: file.size, type: file.type }, config.uploadMaxBytes) : null
    if (refusal) hooks.onRestriction(refusal)
    else if (/type|allowed|only upload/i.test(error.message)) hooks.onRestriction('Only video files can be uploaded. Choose a video file, for example an .mp4 or .mov file.')
    else hooks.onRestriction(`${error.message.replace(/[.\s]+$/, '')}. Choose another file.`)
  })
  uppy.on('complete', (result) => {
    const id = videoId ?? uploadVideoId(uppy)
    if (result.successful?.length && id && !result.failed?.length) hooks.onSuccess(id)
  })
  return uppy
}

/** Cancel: Uppy cancels the assembly and terminates the tus upload at the same time; when the assembly's cancel
 * lands first, TransloadIt has already dropped the upload and the termination answers 404, which tus-js-client
 * leaves as an unhandled rejection. The upload is gone either way, so that one error is not reported. */
function ignoreLateTermination(e: PromiseRejectionEvent): void {
  if (/tus: unexpected response while terminating upload/.test(String((e.reason as Error | undefined)?.message))) {
    e.preventDefault()
  }
}
if (typeof window !== 'undefined') window.addEventListener('unhandledrejection', ignoreLateTermination)

/** The video id of the upload in this Uppy (a started or restored upload), if any. */
export function uploadVideoId(uppy: Uppy<Meta, Body>): string | null {
  return uppy.getFiles()[0]?.meta.video_id ?? null
}

/** Continue a restored upload: the same assembly, tus HEAD for the offset, then PATCH from there. */
export async function resumeRestored(uppy: Uppy<Meta, Body>, hooks: Pick<UploaderHooks, 'onError'>): Promise<void> {
  const { currentUploads } = uppy.getState()
  const ids = Object.keys(currentUploads)
  uppy.setState({ recoveredState: null })
  try {
    if (ids.length === 0) { await uppy.upload(); return }
    uppy.resumeAll()
    await Promise.all(ids.map((id) => uppy.restore(id)))
  } catch (err) {
    uppy.setState({ allowNewUpload: true })
    hooks.onError(uploadErrorMessage(err))
  }
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
