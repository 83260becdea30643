/** Video page: processing progress until the upload is stored, then the player; facts; index and delete. */
import { canRead, isAdmin, isMember, notMemberMessage, showPage, signedIn } from '../app'
import { ApiError, deleteVideos, editVideo, getVideo, indexVideos, type StatusEntry, type Video } from '../api'
import { h, icon, ICONS, replace } from '../dom'
import { bytes, dateTime, indexingText, isInFlight, isoDuration, skippedOne, statusLabel, stopwatch } from '../format'
import { go, href, type RouteContext } from '../router'
import { StatusPoller } from '../status-poller'
import { emptyState, errorBoxFor, loading, statusBadge, updateBadge } from '../ui/components'
import { confirmDialog } from '../ui/dialog'
import { announce, toast } from '../ui/feedback'
import { signInPrompt } from './signin'
import { insightsView, type InsightsView } from './video-insights'

/** The <video> element used here and on the search result page. */
export function player(video: Video, testid = 'video-player'): HTMLVideoElement {
  // crossorigin: "Find scenes like this" draws the frame on a canvas, which the browser allows only for media read
  // with CORS (the bucket's CORS rule lets the site's origin GET; the same rule already serves range reads)
  const el = h('video', {
    class: 'player', controls: true, playsinline: true, preload: 'metadata', 'data-testid': testid, crossorigin: 'anonymous',
    poster: video.thumbnail_url ?? null, src: video.playback_url ?? null,
    'aria-label': `Video: ${video.title}`,
  })
  // data-state says what the player is doing (styling, tests); it changes only on the player's own events.
  const sync = () => { el.dataset.state = el.paused ? (el.ended ? 'ended' : 'paused') : 'playing' }
  for (const type of ['play', 'playing', 'pause', 'ended', 'emptied']) el.addEventListener(type, sync)
  sync()
  el.addEventListener('error', () => {
    // Storage without a CORS rule for this site refuses a CORS read: play without CORS then (only frame capture for
    // "Find scenes like this" needs it, and it says so); a link that fails either way gets the note below.
    if (el.hasAttribute('crossorigin') && el.getAttribute('src')) {
      el.removeAttribute('crossorigin')
      el.dataset.cors = 'off'
      el.load()
      return
    }
    const note = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'player-error' },
      'This video could not be loaded. The link may have expired: reload the page to get a fresh one.')
    if (!el.nextElementSibling?.matches('[data-testid="player-error"]')) el.after(note)
  })
  return el
}

export function backLink(to: string, label: string): HTMLElement {
  return h('a', { class: 'back-link', href: to, 'data-testid': 'back-link' }, icon(ICONS.back), h('span', null, label))
}

export async function renderVideo(ctx: RouteContext): Promise<void> {
  if (!canRead()) { showPage('Sign in', signInPrompt('Sign in to watch this video.')); return }
  const id = ctx.params.id
  const title = h('h1', { class: 'page-title', tabindex: '-1', 'data-page-heading': 'true', 'data-testid': 'video-title' }, 'Video')
  const badgeSlot = h('div', { class: 'video-badge' })
  const content = h('div', { class: 'video-layout' }, loading('Loading video…'))
  const liveHint = h('p', { class: 'live-hint', hidden: true, 'data-testid': 'live-trouble' }, 'Live updates paused — retrying…')
  // elapsed time and estimate (or Twelve Labs' percentage) while indexing; ticks every second, read on demand
  const progressLine = h('p', { class: 'index-progress', hidden: true, 'data-testid': 'index-progress' })
  const page = h('section', { class: 'video-page', 'data-testid': 'video-page', 'data-video-id': id },
    backLink(href('/'), 'Library'),
    h('div', { class: 'page-header' }, title, badgeSlot),
    progressLine,
    liveHint,
    content,
  )
  showPage('Video', page)

  let video: Video | null = null
  let insights: InsightsView | null = null
  let insightsCtl: AbortController | null = null // a re-render drops the previous view's polls and captions
  ctx.signal.addEventListener('abort', () => insightsCtl?.abort())
  function showProgress(): void {
    const text = video ? indexingText(video.status, video) : null
    if (progressLine.textContent !== (text ?? '')) progressLine.textContent = text ?? ''
    progressLine.hidden = !text
  }
  const ticker = window.setInterval(showProgress, 1000)
  ctx.signal.addEventListener('abort', () => clearInterval(ticker))

  /** Apply a new status in place; the player is only rebuilt when the upload leaves "uploading". */
  function onStatus(entry: StatusEntry): void {
    if (!video) return
    const was = video.status
    video = { ...video, status: entry.status, status_reason: entry.status_reason ?? null,
      thumbnail_url: entry.thumbnail_url ?? video.thumbnail_url,
      index_started_at: entry.index_started_at ?? null,
      index_progress: entry.index_progress ?? null, index_estimate_seconds: entry.index_estimate_seconds ?? null }
    showProgress()
    const badge = badgeSlot.querySelector<HTMLElement>('[data-testid="video-status"]')
    if (badge) updateBadge(badge, entry.status, entry.status_reason)
    page.dataset.status = entry.status
    if (was === entry.status) return
    announce(`Status: ${statusLabel(entry.status)}`)
    // An upload that ends (stored or failed) rebuilds the page; `interrupted` (its upload page is gone) is still one.
    const uploadingNow = (s: string) => s === 'uploading' || s === 'interrupted'
    if (uploadingNow(was) && !uploadingNow(entry.status)) { void load(false); return }
    const set = (testid: string, text: string) => {
      const el = content.querySelector(`[data-testid="${testid}"]`)
      if (el) el.textContent = text
    }
    set('fact-status', statusLabel(entry.status))
    if (entry.status === 'ready') { set('fact-indexed', 'Yes'); insights?.refresh() } // generation starts at Ready
    const indexBtn = content.querySelector<HTMLButtonElement>('[data-testid="video-index"]')
    if (indexBtn) {
      indexBtn.disabled = isInFlight(entry.status) || !video.playback_url
      indexBtn.querySelector('span')!.textContent = entry.status === 'ready' ? 'Re-index' : 'Index'
    }
    if (entry.status === 'failed') toast(`Indexing failed: ${entry.status_reason || 'no reason given'}.`, 'error')
  }

  const poller = new StatusPoller({
    onChange: (changes) => { if (changes[id]) onStatus(changes[id]) },
    onMissing: () => {
      replace(content, emptyState('This video was deleted', 'It is no longer in the library.',
        h('a', { class: 'button', href: href('/') }, 'Back to the library'), 'video-missing'))
    },
    onTrouble: (t) => { liveHint.hidden = !t },
  })
  ctx.signal.addEventListener('abort', () => poller.stop())

  async function load(showSpinner = true): Promise<void> {
    if (showSpinner) replace(content, loading('Loading video…'))
    try {
      video = await getVideo(id, ctx.signal)
    } catch (err) {
      if (ctx.signal.aborted) return
      if (err instanceof ApiError && err.status === 404) {
        document.title = 'Video not found'
        title.textContent = 'Video not found'
        replace(content, emptyState('Video not found', 'It may have been deleted, or the link is wrong.',
          h('a', { class: 'button', href: href('/') }, 'Back to the library'), 'video-missing'))
      } else {
        replace(content, errorBoxFor(err, () => void load()))
      }
      return
    }
    if (ctx.signal.aborted) return
    render(video)
    poller.watch(id, video.status, { status: video.status, status_reason: video.status_reason, thumbnail_url: video.thumbnail_url })
  }

  function render(v: Video): void {
    document.title = `${v.title} · Media Library`
    title.textContent = v.title || 'Untitled'
    page.dataset.status = v.status
    replace(badgeSlot, statusBadge(v.status, v.status_reason, 'video-status'))
    showProgress()

    let stage: HTMLElement
    insights = null
    insightsCtl?.abort()
    if (v.playback_url) {
      stage = player(v)
      insightsCtl = new AbortController()
      insights = insightsView({
        video: v, player: stage as HTMLVideoElement, signal: insightsCtl.signal,
        onVideo: (updated) => {
          video = { ...(video ?? v), ...updated }
          title.textContent = video.title || 'Untitled'
          document.title = `${video.title} · Media Library`
        },
      })
    } else if (v.status === 'uploading') {
      stage = h('div', { class: 'stage stage-processing', 'data-testid': 'video-processing' },
        h('p', { class: 'stage-title', id: 'processing-label' }, 'Uploading'),
        h('progress', { class: 'progress', 'aria-labelledby': 'processing-label', 'data-testid': 'processing-progress' }),
        h('p', { class: 'muted' }, 'Your video is being stored and converted for the web. This page updates by itself — you can leave it and come back.'))
    } else if (v.status === 'failed') {
      stage = h('div', { class: 'stage stage-failed', role: 'alert', 'data-testid': 'video-failed' },
        h('p', { class: 'stage-title' }, 'This video could not be processed'),
        h('p', null, v.status_reason || 'No reason was given.'))
    } else {
      stage = h('div', { class: 'stage' }, h('p', { class: 'muted' }, 'No playable file yet.'))
    }

    const fact = (label: string, value: Node | string, testid: string) =>
      [h('dt', null, label), h('dd', { 'data-testid': testid }, value)]
    const facts = h('dl', { class: 'facts', 'data-testid': 'video-facts' },
      fact('Status', statusLabel(v.status), 'fact-status'),
      v.status === 'failed' && v.status_reason ? fact('Reason', v.status_reason, 'fact-reason') : null,
      fact('Duration', v.duration != null ? h('time', { datetime: isoDuration(v.duration) }, stopwatch(v.duration)) : '—', 'fact-duration'),
      fact('Size', bytes(v.size), 'fact-size'),
      fact('Resolution', v.width && v.height ? `${v.width} × ${v.height}` : '—', 'fact-resolution'),
      fact('Owner', v.owner || 'Found in bucket', 'fact-owner'),
      fact('Added', v.created_at ? h('time', { datetime: v.created_at }, dateTime(v.created_at)) : '—', 'fact-created'),
      fact('Searchable', v.indexed || v.status === 'ready' ? 'Yes' : 'Not yet', 'fact-indexed'),
    )

    // Only what this user may do: members index (admins also re-index); the uploader and admins delete.
    const mayIndex = isMember() && (v.status !== 'ready' || isAdmin())
    const actions = isMember()
      ? h('div', { class: 'video-actions' },
          mayIndex ? h('button', {
            type: 'button', class: 'button primary', 'data-testid': 'video-index',
            disabled: isInFlight(v.status) || !v.playback_url,
            onclick: (e: Event) => void indexOne(e.currentTarget as HTMLButtonElement, v),
          }, icon(ICONS.sparkle), h('span', null, v.status === 'ready' ? 'Re-index' : 'Index')) : null,
          v.can_edit ? h('button', {
            type: 'button', class: 'button', 'data-testid': 'video-edit', onclick: () => openEditor(v),
          }, 'Edit title and description') : null,
          v.can_delete ? h('button', {
            type: 'button', class: 'button danger-outline', 'data-testid': 'video-delete',
            onclick: () => void deleteOne(v),
          }, icon(ICONS.trash), h('span', null, 'Delete')) : null,
        )
      : signedIn() ? h('p', { class: 'not-member', role: 'status', 'data-testid': 'not-member' }, notMemberMessage())
        : null

    replace(content,
      h('div', { class: 'video-stage' }, stage, editorSlot,
        v.description ? h('p', { class: 'video-description', 'data-testid': 'video-description' }, v.description) : null,
        insights?.main),
      h('div', { class: 'video-side-column' },
        h('aside', { class: 'video-side card' }, h('h2', { class: 'side-title' }, 'Details'), facts, actions),
        insights?.side),
    )
  }

  // ---- edit title and description (PATCH /videos/{id}: the uploader or an admin; the API says so in can_edit) ----
  const editorSlot = h('div', { class: 'video-editor-slot' })
  function openEditor(v: Video): void {
    const titleInput = h('input', {
      id: 'edit-title', class: 'input', 'data-testid': 'edit-title', value: v.title, maxlength: 200, required: true,
    })
    const desc = h('textarea', { id: 'edit-description', class: 'input', rows: 4, maxlength: 5000, 'data-testid': 'edit-description' })
    desc.value = v.description ?? ''
    const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'edit-error', hidden: true })
    const save = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'edit-save' }, 'Save')
    const close = () => { replace(editorSlot); content.querySelector<HTMLButtonElement>('[data-testid="video-edit"]')?.focus() }
    const form = h('form', { class: 'video-editor card', 'data-testid': 'video-editor', 'aria-label': 'Edit title and description' },
      h('label', { for: 'edit-title' }, 'Title'), titleInput,
      h('label', { for: 'edit-description' }, 'Description'), desc,
      error,
      h('div', { class: 'video-actions' }, save,
        h('button', { type: 'button', class: 'button subtle', 'data-testid': 'edit-cancel', onclick: close }, 'Cancel')),
    )
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      if (!titleInput.value.trim()) {
        error.textContent = 'The title cannot be empty.'
        error.hidden = false
        titleInput.focus()
        return
      }
      save.disabled = true
      error.hidden = true
      try {
        const updated = await editVideo(v.id, { title: titleInput.value, description: desc.value })
        video = { ...v, ...updated }
        replace(editorSlot)
        render(video)
        toast('Saved.', 'success')
      } catch (err) {
        error.textContent = (err as Error).message
        error.hidden = false
        save.disabled = false
      }
    })
    replace(editorSlot, form)
    titleInput.focus()
  }

  async function indexOne(btn: HTMLButtonElement, v: Video): Promise<void> {
    btn.disabled = true
    try {
      const res = await indexVideos({ ids: [v.id], reindex: v.status === 'ready' })
      if (res.queued.includes(v.id)) {
        toast('Indexing started.', 'success')
        onStatus({ status: 'sending', index_started_at: new Date().toISOString() }) // the next poll brings the server's
        poller.watch(v.id, 'sending')
      } else {
        toast(skippedOne(res.skipped?.[v.id]), 'info')
        btn.disabled = false
      }
    } catch (err) {
      toast((err as Error).message, 'error')
      btn.disabled = false
    }
  }

  async function deleteOne(v: Video): Promise<void> {
    const ok = await confirmDialog({
      title: `Delete “${v.title}”?`,
      body: 'This removes the files from storage, the search index entry and the library record. It cannot be undone.',
      confirmLabel: 'Delete',
      danger: true,
    })
    if (!ok) return
    try {
      const res = await deleteVideos({ ids: [v.id] })
      const r = res.results?.[v.id]
      if (r && !r.ok) { toast(`Could not delete: ${r.error ?? 'unknown error'}.`, 'error'); return }
      toast(`Deleted “${v.title}”.`, 'success')
      go('/')
    } catch (err) {
      toast((err as Error).message, 'error')
    }
  }

  await load()
}
