/** Upload page: pick or drop one video, edit its title, upload with progress, pause/resume/retry, then open it.
 * An upload interrupted by a reload, a closed tab or a browser restart is offered here again: resume or discard. */
import { app, isMember, notMemberMessage, showPage, signedIn } from '../app'
import { fetchStatuses } from '../api'
import { h, replace } from '../dom'
import { bytes, titleFromFilename } from '../format'
import { go, type RouteContext } from '../router'
import { errorBox, loading, pageHeader } from '../ui/components'
import { announce } from '../ui/feedback'
import { discardUpload, reportProgress } from '../upload-api'
import type { RestoredUpload } from '../uploader'
import { signInPrompt } from './signin'

type Phase = 'empty' | 'ready' | 'uploading' | 'paused' | 'failed' | 'done' | 'restored'

/** How often the page tells the server it is still sending the file (the server's HEARTBEAT_SECONDS). */
const HEARTBEAT_MS = 10_000

export async function renderUpload(ctx: RouteContext): Promise<void> {
  if (!signedIn()) { showPage('Sign in', signInPrompt('Sign in to upload videos.')); return }
  if (!isMember()) {
    showPage('Upload', pageHeader('Upload a video'),
      h('p', { class: 'not-member', role: 'status', 'data-testid': 'not-member' }, notMemberMessage()))
    return
  }

  const limit = bytes(app.config.uploadMaxBytes)
  const dashboard = h('div', { class: 'dashboard', 'data-testid': 'upload-dashboard' }, loading('Loading the uploader…'))
  const title = h('input', {
    id: 'upload-title', type: 'text', name: 'title', maxlength: 200, required: true, disabled: true,
    autocomplete: 'off', 'data-testid': 'upload-title', 'aria-describedby': 'upload-title-hint',
  })
  const submit = h('button', { type: 'submit', class: 'button primary wide', disabled: true, 'data-testid': 'upload-submit' }, 'Upload')
  const progress = h('progress', { class: 'progress', max: 100, value: 0, 'aria-labelledby': 'upload-status', 'data-testid': 'upload-progress' })
  const statusText = h('p', { id: 'upload-status', class: 'upload-status', 'aria-live': 'polite', 'data-testid': 'upload-status' })
  const pauseBtn = h('button', { type: 'button', class: 'button', 'data-testid': 'upload-pause' }, 'Pause')
  const cancelBtn = h('button', { type: 'button', class: 'button subtle', 'data-testid': 'upload-cancel' }, 'Cancel')
  const retryBtn = h('button', { type: 'button', class: 'button primary', 'data-testid': 'upload-retry' }, 'Retry')
  const controls = h('div', { class: 'upload-controls' }, pauseBtn, retryBtn, cancelBtn)
  const progressBox = h('div', { class: 'progress-box', hidden: true }, progress, statusText, controls)
  const error = h('div', { class: 'form-error', role: 'alert', 'data-testid': 'upload-error', hidden: true })
  const notice = h('p', { class: 'upload-notice', role: 'status', 'data-testid': 'upload-notice', hidden: true })
  const restoredText = h('p', { class: 'upload-restored-text', 'data-testid': 'upload-restored-text' })
  const resumeBtn = h('button', { type: 'button', class: 'button primary', 'data-testid': 'upload-resume' }, 'Resume upload')
  const discardBtn = h('button', { type: 'button', class: 'button subtle', 'data-testid': 'upload-discard' }, 'Discard')
  const restoredBox = h('div', { class: 'upload-restored', role: 'region', 'aria-label': 'Interrupted upload', 'data-testid': 'upload-restored', hidden: true },
    restoredText, h('div', { class: 'upload-controls' }, resumeBtn, discardBtn))

  const form = h('form', { class: 'card upload-card', 'data-testid': 'upload-form', novalidate: true },
    dashboard,
    h('div', { class: 'upload-side' },
      restoredBox,
      h('label', { class: 'field', for: 'upload-title' }, h('span', { class: 'field-label' }, 'Title')),
      title,
      h('p', { id: 'upload-title-hint', class: 'field-hint' }, 'Taken from the file name. You can change it before uploading.'),
      submit,
      progressBox,
      error,
      notice,
    ),
  )

  showPage('Upload',
    pageHeader('Upload a video'),
    h('p', { class: 'muted' }, `One video at a time, up to ${limit}. If the connection drops or you close the page, `
      + 'come back to this page to resume: the upload continues where it stopped.'),
    form,
  )

  let phase: Phase = 'empty'
  let bytesTotal = 0
  let bytesDone = 0
  let videoId: string | null = null
  const setPhase = (p: Phase) => {
    if (ctx.signal.aborted) return // left the page: the paused Uppy's events must not set guards or heartbeats again
    phase = p
    const busy = p === 'uploading' || p === 'paused'
    title.disabled = p === 'empty' || busy || p === 'done' || p === 'restored'
    submit.disabled = p !== 'ready'
    submit.hidden = busy || p === 'failed' || p === 'done' || p === 'restored'
    progressBox.hidden = p === 'empty' || p === 'ready' || p === 'restored'
    restoredBox.hidden = p !== 'restored'
    pauseBtn.hidden = !busy
    pauseBtn.textContent = p === 'paused' ? 'Resume' : 'Pause'
    retryBtn.hidden = p !== 'failed'
    cancelBtn.hidden = !(busy || p === 'failed')
    form.setAttribute('aria-busy', String(p === 'uploading'))
    if (videoId) form.dataset.videoId = videoId
    else delete form.dataset.videoId
    if (p !== 'failed' && p !== 'restored') error.hidden = true
    if (p !== 'empty') notice.hidden = true
    if (busy) heartbeat.start()
    else heartbeat.stop()
    // Leaving mid-upload stops it (it can be resumed here later): ask first (in-app navigation and closing the tab).
    app.router.setLeaveGuard(busy
      ? () => window.confirm('An upload is in progress. Leave this page? The upload stops; come back to Upload to resume it.')
      : null)
  }
  const beforeUnload = (e: BeforeUnloadEvent) => {
    if (phase !== 'uploading' && phase !== 'paused') return
    e.preventDefault()
    e.returnValue = '' // older browsers only ask when this is set
  }
  window.addEventListener('beforeunload', beforeUnload)
  ctx.signal.addEventListener('abort', () => window.removeEventListener('beforeunload', beforeUnload))

  const showError = (message: string) => {
    error.textContent = message
    error.hidden = false
  }
  const showNotice = (message: string) => {
    notice.textContent = message
    notice.hidden = false
    announce(message)
  }

  /** Tells the server every HEARTBEAT_MS that this page is still sending the file (also while paused), so a closed
   * page shows as interrupted and an abandoned upload ends on its own. */
  const heartbeat = (() => {
    let timer: number | null = null
    let lastSent = 0
    const beat = async () => {
      if (!videoId || (phase !== 'uploading' && phase !== 'paused')) return
      lastSent = Date.now()
      try {
        const answer = await reportProgress(videoId, { bytes_uploaded: bytesDone, bytes_total: bytesTotal })
        if (answer?.status === 'failed' && (phase === 'uploading' || phase === 'paused')) {
          hooks.onError(`${answer.status_reason ?? 'This upload was stopped.'} Press Cancel, then upload the file again.`)
        }
      } catch {
        // A missed heartbeat is harmless (the next one follows); tus itself reports real connection trouble.
      }
    }
    return {
      start() { if (timer == null) { timer = window.setInterval(() => void beat(), HEARTBEAT_MS); void beat() } },
      stop() { if (timer != null) { clearInterval(timer); timer = null } },
      /** On progress: at most one extra beat per interval (timers are slowed down in background tabs). */
      poke() { if (timer != null && Date.now() - lastSent >= HEARTBEAT_MS) void beat() },
    }
  })()
  ctx.signal.addEventListener('abort', () => heartbeat.stop())

  let mod: typeof import('../uploader')
  try {
    mod = await import('../uploader')
  } catch {
    if (ctx.signal.aborted) return
    replace(dashboard, errorBox('The uploader could not be loaded. Check your connection and reload the page.'))
    return
  }
  if (ctx.signal.aborted) return
  dashboard.replaceChildren()

  let restored: RestoredUpload | null = null
  const showRestored = async (r: RestoredUpload) => {
    restored = r
    videoId = r.videoId
    bytesTotal = r.bytesTotal
    bytesDone = r.bytesUploaded
    progress.value = r.percent
    setPhase('restored')
    resumeBtn.hidden = false
    resumeBtn.disabled = r.needsFile
    restoredText.textContent = r.needsFile
      ? `The upload of “${r.name}” was interrupted at ${r.percent}%. Choose the same file again above to resume it, or discard it.`
      : `The upload of “${r.name}” was interrupted at ${r.percent}%. Resume it to continue where it stopped, or discard it.`
    announce(restoredText.textContent)
    if (!r.videoId) return
    try { // the server may have ended it meanwhile (discarded elsewhere, or stopped after a long silence)
      const answer = await fetchStatuses([r.videoId], null)
      const entry = answer.data?.videos?.[r.videoId]
      if (ctx.signal.aborted || phase !== 'restored') return
      if (!entry) {
        resumeBtn.hidden = true
        restoredText.textContent = `The interrupted upload of “${r.name}” was discarded. Press Discard to clear it from this page, then upload the file again.`
      } else if (entry.status !== 'uploading') {
        resumeBtn.hidden = true
        restoredText.textContent = `The upload of “${r.name}” was stopped: ${entry.status_reason ?? 'it can no longer continue.'} Press Discard, then upload the file again.`
      }
    } catch {
      // Offline or the server is busy: offer Resume anyway; tus reports it if the upload cannot continue.
    }
  }

  const hooks = {
    getTitle: () => title.value.trim(),
    onFileAdded: (file: { name?: string; size?: number | null }) => {
      title.value = titleFromFilename(file.name ?? '')
      bytesTotal = file.size ?? 0
      error.hidden = true
      setPhase('ready')
      announce(`Selected ${file.name}. Title set to ${title.value}.`)
    },
    onFileRemoved: () => {
      if (phase === 'restored') return
      title.value = ''
      progress.value = 0
      setPhase('empty')
    },
    onProgress: (pct: number, done: number, total: number) => {
      if (phase !== 'uploading' && phase !== 'paused') return
      progress.value = pct
      bytesDone = done
      bytesTotal = total || bytesTotal
      statusText.textContent = `Uploading… ${pct}% (${bytes(done)} of ${bytes(total || bytesTotal)})`
      heartbeat.poke()
    },
    onPaused: (paused: boolean) => {
      if (phase !== 'uploading' && phase !== 'paused') return
      setPhase(paused ? 'paused' : 'uploading')
      statusText.textContent = paused
        ? `Paused at ${progress.value}%. Press Resume to continue.`
        : `Uploading… ${progress.value}%`
    },
    onOffline: (offline: boolean) => {
      if (phase !== 'uploading' && phase !== 'paused') return
      statusText.textContent = offline
        ? `You are offline. The upload continues from ${progress.value}% when the connection is back.`
        : `Back online. Uploading… ${progress.value}%`
    },
    onError: (message: string) => {
      if (phase === 'done') return
      setPhase('failed')
      statusText.textContent = 'The upload stopped.'
      showError(message)
      retryBtn.focus()
    },
    onRestriction: (message: string) => {
      showError(message)
      announce(message)
    },
    onSuccess: (id: string) => {
      setPhase('done')
      progress.value = 100
      statusText.textContent = 'Upload complete. Opening the video page…'
      go(`/videos/${encodeURIComponent(id)}`)
    },
    onStarted: (id: string) => {
      videoId = id
      form.dataset.videoId = id
      heartbeat.start()
    },
    onRestored: (r: RestoredUpload) => { void showRestored(r) },
  }
  const uppy = mod.createUploader(app.config, dashboard, hooks)
  ctx.signal.addEventListener('abort', () => {
    if (phase === 'uploading' || phase === 'paused') {
      // Leaving mid-upload: stop sending but keep the upload resumable. Destroying Uppy would cancel the assembly
      // and delete the tus upload, so the paused instance is left to the garbage collector instead.
      uppy.pauseAll()
      const keeper = uppy.getPlugin('GoldenRetriever')
      if (keeper) uppy.removePlugin(keeper)
      return
    }
    uppy.destroy()
  })

  const start = () => {
    if (!title.value.trim()) {
      showError('Give the video a title, then press Upload.')
      title.focus()
      return
    }
    error.hidden = true
    setPhase('uploading')
    progress.value = 0
    statusText.textContent = 'Starting the upload…'
    void mod.runUpload(uppy, hooks)
  }

  /** Stop the upload and remove every trace of it: the assembly, partial files and the record. */
  const discard = async (what: 'cancel' | 'discard') => {
    const id = videoId ?? mod.uploadVideoId(uppy)
    cancelBtn.disabled = true
    discardBtn.disabled = true
    uppy.cancelAll() // stops tus and cancels the assembly; Golden Retriever forgets the file
    videoId = null
    restored = null
    title.value = ''
    progress.value = 0
    setPhase('empty')
    try {
      if (id) await discardUpload(id)
      showNotice(what === 'cancel'
        ? 'Upload cancelled. Nothing was kept, so there is nothing to clean up. Choose a file to upload again.'
        : 'The interrupted upload was discarded. Choose a file to upload again.')
    } catch {
      showNotice('The upload was stopped, but it could not be removed from the library. Delete it there, or try again later.')
    } finally {
      cancelBtn.disabled = false
      discardBtn.disabled = false
    }
  }

  form.addEventListener('submit', (e) => { e.preventDefault(); if (phase === 'ready') start() })
  retryBtn.addEventListener('click', start)
  pauseBtn.addEventListener('click', () => {
    if (phase === 'paused') uppy.resumeAll()
    else uppy.pauseAll()
  })
  cancelBtn.addEventListener('click', () => void discard('cancel'))
  discardBtn.addEventListener('click', () => void discard('discard'))
  resumeBtn.addEventListener('click', () => {
    if (!restored) return
    error.hidden = true
    setPhase('uploading')
    statusText.textContent = `Resuming from ${progress.value}%…`
    void mod.resumeRestored(uppy, hooks)
  })
  if (phase === 'empty') setPhase('empty') // a restore may already have been shown while the uploader loaded
}
