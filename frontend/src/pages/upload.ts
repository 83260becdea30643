/** Upload page: pick or drop one video, edit its title, upload with progress, pause/resume/retry, then open it. */
import { app, isMember, notMemberMessage, showPage, signedIn } from '../app'
import { h, replace } from '../dom'
import { bytes, titleFromFilename } from '../format'
import { go, type RouteContext } from '../router'
import { errorBox, loading, pageHeader } from '../ui/components'
import { announce } from '../ui/feedback'
import { signInPrompt } from './signin'

type Phase = 'empty' | 'ready' | 'uploading' | 'paused' | 'failed' | 'done'

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

  const form = h('form', { class: 'card upload-card', 'data-testid': 'upload-form', novalidate: true },
    dashboard,
    h('div', { class: 'upload-side' },
      h('label', { class: 'field', for: 'upload-title' }, h('span', { class: 'field-label' }, 'Title')),
      title,
      h('p', { id: 'upload-title-hint', class: 'field-hint' }, 'Taken from the file name. You can change it before uploading.'),
      submit,
      progressBox,
      error,
    ),
  )

  showPage('Upload',
    pageHeader('Upload a video'),
    h('p', { class: 'muted' }, `One video at a time, up to ${limit}. A dropped connection does not start the upload over.`),
    form,
  )

  let phase: Phase = 'empty'
  let bytesTotal = 0
  const setPhase = (p: Phase) => {
    phase = p
    const busy = p === 'uploading' || p === 'paused'
    title.disabled = p === 'empty' || busy || p === 'done'
    submit.disabled = p !== 'ready'
    submit.hidden = busy || p === 'failed' || p === 'done'
    progressBox.hidden = p === 'empty' || p === 'ready'
    pauseBtn.hidden = !busy
    pauseBtn.textContent = p === 'paused' ? 'Resume' : 'Pause'
    retryBtn.hidden = p !== 'failed'
    cancelBtn.hidden = !(busy || p === 'failed')
    form.setAttribute('aria-busy', String(p === 'uploading'))
    if (p !== 'failed') error.hidden = true
    // Leaving mid-upload would cancel it: ask first (in-app navigation and closing the tab).
    app.router.setLeaveGuard(busy ? () => window.confirm('An upload is in progress. Leave this page and cancel it?') : null)
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

  const hooks = {
    getTitle: () => title.value.trim(),
    onFileAdded: (file: { name?: string; size?: number | null }) => {
      title.value = titleFromFilename(file.name ?? '')
      bytesTotal = file.size ?? 0
      setPhase('ready')
      announce(`Selected ${file.name}. Title set to ${title.value}.`)
    },
    onFileRemoved: () => {
      title.value = ''
      progress.value = 0
      setPhase('empty')
    },
    onProgress: (pct: number, done: number, total: number) => {
      if (phase !== 'uploading' && phase !== 'paused') return
      progress.value = pct
      statusText.textContent = `Uploading… ${pct}% (${bytes(done)} of ${bytes(total || bytesTotal)})`
    },
    onPaused: (paused: boolean) => {
      if (phase !== 'uploading' && phase !== 'paused') return
      setPhase(paused ? 'paused' : 'uploading')
      statusText.textContent = paused ? `Paused at ${progress.value}%.` : `Uploading… ${progress.value}%`
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
      error.textContent = message
      error.hidden = false
    },
    onSuccess: (videoId: string) => {
      setPhase('done')
      progress.value = 100
      statusText.textContent = 'Upload complete. Opening the video page…'
      go(`/videos/${encodeURIComponent(videoId)}`)
    },
  }
  const uppy = mod.createUploader(app.config, dashboard, hooks)
  ctx.signal.addEventListener('abort', () => uppy.destroy())

  const start = () => {
    if (!title.value.trim()) {
      showError('Give the video a title.')
      title.focus()
      return
    }
    error.hidden = true
    setPhase('uploading')
    progress.value = 0
    statusText.textContent = 'Starting the upload…'
    void mod.runUpload(uppy, hooks)
  }

  form.addEventListener('submit', (e) => { e.preventDefault(); if (phase === 'ready') start() })
  retryBtn.addEventListener('click', start)
  pauseBtn.addEventListener('click', () => {
    if (phase === 'paused') uppy.resumeAll()
    else uppy.pauseAll()
  })
  cancelBtn.addEventListener('click', () => {
    uppy.cancelAll()
    statusText.textContent = ''
    setPhase('empty')
    announce('Upload cancelled.')
  })
  setPhase('empty')
}
