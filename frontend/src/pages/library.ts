/** Library grid: paginated videos, selection (page / all N), Index, Delete, Sync, Reset, live per-tile status.
 * Only what the signed-in user may do is offered (GET /me): members index a selection and delete their own videos;
 * admins also delete any video, select all, re-index, sync and reset; signed-in non-members are told to ask. */
import { canRead, currentHashPath, isAdmin, isMember, notMemberMessage, showPage, signedIn } from '../app'
import {
  ApiError, deleteVideos, findVideos, indexVideos, listVideos, resetLibrary, syncBucket, type StatusEntry, type Video,
  type VideoPage,
} from '../api'
import { h, icon, ICONS, replace } from '../dom'
import { day, indexingText, INTERRUPTED_HINT, mediaFacts, plural, skippedSentence, statusLabel } from '../format'
import { href, type RouteContext } from '../router'
import { StatusPoller } from '../status-poller'
import { errorBoxFor, emptyState, loading, pageHeader, pager, setThumbnail, statusBadge, thumbnail, updateBadge } from '../ui/components'
import { confirmDialog } from '../ui/dialog'
import { announce, toast } from '../ui/feedback'
import { apiParams, filterByTag, findBar, hashQuery, isFinding, readFind, type FindState } from './library-find'
import { signInPrompt } from './signin'

const PAGE_SIZE = 24

interface Tile {
  video: Video
  root: HTMLElement
  checkbox: HTMLInputElement | null
  badge: HTMLElement
  reason: HTMLElement
  thumb: HTMLElement
  progress: HTMLElement
}

/** The tile's indexing line ("Indexing — 1:23 elapsed, about 2 min left"), hidden when it is not indexing. */
function showProgress(t: Tile): void {
  const text = indexingText(t.video.status, t.video)
  if (t.progress.textContent !== (text ?? '')) t.progress.textContent = text ?? ''
  t.progress.hidden = !text
}

export async function renderLibrary(ctx: RouteContext): Promise<void> {
  if (!canRead()) {
    showPage('Sign in', signInPrompt('Sign in to see the video library.'))
    return
  }
  let page = Math.max(1, Number.parseInt(ctx.query.get('page') ?? '1', 10) || 1)
  const canWrite = isMember()
  const admin = isAdmin()
  const tiles = new Map<string, Tile>()
  const selected = new Set<string>()
  let allMode = false
  let data: VideoPage | null = null
  // Finding (README "Finding videos"): search, filters and sort live in the hash; found pages come by cursor.
  let find: FindState = readFind(ctx.query)
  let nextCursor: string | null = null
  let generation = 0 // a newer search makes the answers of older ones stale

  const poller = new StatusPoller({
    onChange: (changes) => applyStatus(changes),
    onMissing: (ids) => ids.forEach(markMissing),
    onTrouble: (trouble) => { liveHint.hidden = !trouble },
  })
  ctx.signal.addEventListener('abort', () => poller.stop())
  // the elapsed time of indexing tiles moves every second (the status poll brings the rest)
  const ticker = window.setInterval(() => tiles.forEach(showProgress), 1000)
  ctx.signal.addEventListener('abort', () => clearInterval(ticker))

  // ---- toolbar ----
  const liveHint = h('span', { class: 'live-hint', 'data-testid': 'live-trouble', hidden: true }, 'Live updates paused — retrying…')
  const selectPage = h('input', { type: 'checkbox', id: 'select-page', 'data-testid': 'select-page' })
  const selectionText = h('span', { class: 'selection-text', 'data-testid': 'selection-count', 'aria-live': 'polite' })
  const allBanner = h('div', { class: 'select-all-banner', 'data-testid': 'select-all-banner', hidden: true })
  const reindex = h('input', { type: 'checkbox', id: 'reindex', 'data-testid': 'reindex-toggle' })
  const indexBtn = h('button', { type: 'button', class: 'button primary', 'data-testid': 'index-button', disabled: true },
    icon(ICONS.sparkle), h('span', null, 'Index'))
  const deleteBtn = h('button', { type: 'button', class: 'button danger-outline', 'data-testid': 'delete-button', disabled: true },
    icon(ICONS.trash), h('span', null, 'Delete'))
  const syncBtn = h('button', { type: 'button', class: 'button', 'data-testid': 'sync-button' }, icon(ICONS.sync), h('span', null, 'Sync bucket'))
  const resetBtn = h('button', { type: 'button', class: 'button subtle danger-text', 'data-testid': 'reset-button' }, 'Reset library…')
  const totalText = h('p', { class: 'muted', 'data-testid': 'library-total' })
  const body = h('div', { class: 'library-body' }, loading('Loading videos…'))
  const moreBtn = h('button', { type: 'button', class: 'button', 'data-testid': 'load-more', hidden: true }, 'Load more')
  const bar = findBar(find, {
    signedIn: signedIn(),
    onChange: (next) => {
      find = next
      page = 1
      // The hash keeps the search for a reload; replaceState fires no hashchange, so the page is not rebuilt.
      history.replaceState(null, '', href('/', hashQuery(find)))
      void load()
    },
  })

  const toolbar = canWrite
    ? h('div', { class: 'toolbar', role: 'group', 'aria-label': 'Selection and actions' },
        h('div', { class: 'toolbar-left' },
          h('label', { class: 'check', for: 'select-page' }, selectPage, h('span', null, 'Select page')),
          selectionText),
        h('div', { class: 'toolbar-right' },
          admin ? h('label', { class: 'check small', for: 'reindex', title: 'Also re-index videos that are already Ready' },
            reindex, h('span', null, 'Re-index ready')) : null,
          indexBtn, deleteBtn),
      )
    : signedIn()
      ? h('p', { class: 'not-member', role: 'status', 'data-testid': 'not-member' }, notMemberMessage())
      : h('p', { class: 'hint' }, h('a', { href: href('/signin', { next: currentHashPath() }) }, 'Sign in'),
          ' to upload, index or delete videos.')

  showPage('Library',
    pageHeader('Library',
      admin ? syncBtn : null,
      canWrite ? h('a', { class: 'button primary', href: href('/upload'), 'data-testid': 'upload-link' }, icon(ICONS.upload), h('span', null, 'Upload')) : null),
    bar,
    totalText,
    toolbar,
    allBanner,
    liveHint,
    body,
    admin ? h('div', { class: 'danger-zone' }, resetBtn) : null,
  )

  // ---- selection ----
  const pageIds = () => [...tiles.keys()].filter((id) => tiles.get(id)!.checkbox && !tiles.get(id)!.checkbox!.disabled)

  function refreshSelection(): void {
    const ids = pageIds()
    const n = selected.size
    const total = data?.total ?? 0
    selectPage.checked = ids.length > 0 && n === ids.length
    selectPage.indeterminate = n > 0 && n < ids.length
    const count = allMode ? total : n
    selectionText.textContent = allMode ? `All ${plural(total, 'video')} selected` : n ? `${n} selected` : ''
    // a member's selection may hold videos of others: Delete is then off, and says why
    const notOwn = allMode ? !admin : [...selected].some((id) => tiles.get(id)?.video.can_delete !== true)
    indexBtn.disabled = count === 0
    deleteBtn.disabled = count === 0 || notOwn
    deleteBtn.title = count > 0 && notOwn ? 'You may delete only videos you uploaded; ask an admin to delete the others.' : ''
    deleteBtn.hidden = !admin && ![...tiles.values()].some((t) => t.video.can_delete === true)
    indexBtn.querySelector('span')!.textContent = count ? `Index (${count.toLocaleString()})` : 'Index'
    deleteBtn.querySelector('span')!.textContent = count ? `Delete (${count.toLocaleString()})` : 'Delete'
    for (const [id, t] of tiles) {
      if (t.checkbox) t.checkbox.checked = allMode || selected.has(id)
      t.root.classList.toggle('selected', allMode || selected.has(id))
    }
    // Offer "select all N" once the whole page is selected and there are more videos than this page shows.
    const morePages = total > ids.length
    if (allMode) {
      replace(allBanner, `All ${plural(total, 'video')} in the library are selected. `,
        h('button', { type: 'button', class: 'link-button', 'data-testid': 'clear-selection', onclick: clearSelection }, 'Clear selection'))
      allBanner.hidden = false
    } else if (admin && morePages && !isFinding(find) && ids.length > 0 && n === ids.length) {
      // (not while finding: "all N" means the whole library, not the videos found)
      replace(allBanner, `All ${ids.length} videos on this page are selected. `,
        h('button', {
          type: 'button', class: 'link-button', 'data-testid': 'select-all-button',
          onclick: () => { allMode = true; refreshSelection(); announce(`All ${plural(total, 'video')} selected`) },
        }, `Select all ${plural(total, 'video')}`))
      allBanner.hidden = false
    } else {
      allBanner.hidden = true
    }
  }

  function clearSelection(): void {
    allMode = false
    selected.clear()
    refreshSelection()
  }

  selectPage.addEventListener('change', () => {
    allMode = false
    if (selectPage.checked) pageIds().forEach((id) => selected.add(id))
    else selected.clear()
    refreshSelection()
  })

  // ---- tiles ----
  function tile(video: Video): Tile {
    const link = href(`/videos/${encodeURIComponent(video.id)}`)
    const checkbox = canWrite
      ? h('input', {
          type: 'checkbox', class: 'tile-checkbox', 'data-testid': 'tile-checkbox', 'aria-label': `Select ${video.title}`,
          onchange: (e: Event) => {
            const on = (e.target as HTMLInputElement).checked
            if (allMode) { allMode = false; pageIds().forEach((id) => selected.add(id)) }
            if (on) selected.add(video.id)
            else selected.delete(video.id)
            refreshSelection()
          },
        })
      : null
    const thumb = thumbnail(video.thumbnail_url)
    const badge = statusBadge(video.status, video.status_reason)
    const reason = h('p', { class: 'tile-reason', 'data-testid': 'status-reason' })
    setReason(reason, video.status, video.status_reason)
    const progress = h('p', { class: 'index-progress', hidden: true, 'data-testid': 'index-progress' })
    const root = h('li', { class: 'tile', 'data-testid': 'video-tile', 'data-video-id': video.id, 'data-status': video.status },
      h('a', { class: 'tile-thumb', href: link, tabindex: '-1', 'aria-hidden': 'true' }, thumb),
      checkbox ? h('div', { class: 'tile-check' }, checkbox) : null,
      h('div', { class: 'tile-body' },
        h('h2', { class: 'tile-title' }, h('a', { href: link, 'data-testid': 'tile-title' }, video.title || 'Untitled')),
        h('p', { class: 'tile-meta' },
          h('span', { 'data-testid': 'tile-owner' }, video.owner || 'Found in bucket'),
          h('span', { 'aria-hidden': 'true' }, ' · '),
          h('time', { datetime: video.created_at ?? '' }, day(video.created_at))),
        mediaFacts(video) ? h('p', { class: 'tile-meta', 'data-testid': 'tile-media' }, mediaFacts(video)) : null,
        tileTags(video),
        h('div', { class: 'tile-status' }, badge),
        progress,
        reason,
      ),
    )
    const made = { video, root, checkbox, badge, reason, thumb, progress }
    showProgress(made)
    return made
  }

  /** The video's first tags; each one filters the library by it (the find bar's Tag field, kept in the address). */
  function tileTags(video: Video): HTMLElement | null {
    const tags = video.tags ?? []
    if (!tags.length) return null
    const shown = tags.slice(0, 5)
    return h('ul', { class: 'tile-tags', 'data-testid': 'tile-tags', 'aria-label': 'Tags' },
      ...shown.map((t) => h('li', null, h('button', {
        type: 'button', class: `tag-filter${find.tag === t ? ' active' : ''}`, 'data-testid': 'tile-tag', 'data-tag': t,
        'aria-pressed': find.tag === t ? 'true' : 'false', title: `Show videos tagged “${t}”`,
        onclick: () => filterByTag(bar, find.tag === t ? '' : t),
      }, `#${t}`))),
      tags.length > shown.length ? h('li', { class: 'muted tag-more' }, `+${tags.length - shown.length}`) : null)
  }

  function setReason(el: HTMLElement, status: string, reason?: string | null): void {
    const note = status === 'failed' ? reason || 'No reason given.' : status === 'interrupted' ? INTERRUPTED_HINT : ''
    el.textContent = note
    el.hidden = !note
  }

  function applyStatus(changes: Record<string, StatusEntry>): void {
    const readable: string[] = []
    for (const [id, entry] of Object.entries(changes)) {
      const t = tiles.get(id)
      if (!t) continue
      const before = t.video.status
      t.video = { ...t.video, status: entry.status, status_reason: entry.status_reason ?? null,
        thumbnail_url: entry.thumbnail_url ?? t.video.thumbnail_url, index_started_at: entry.index_started_at ?? null,
        index_progress: entry.index_progress ?? null, index_estimate_seconds: entry.index_estimate_seconds ?? null }
      showProgress(t)
      t.root.dataset.status = entry.status
      const badge = t.root.querySelector<HTMLElement>('[data-testid="status-badge"]')
      if (badge) updateBadge(badge, entry.status, entry.status_reason)
      setReason(t.reason, entry.status, entry.status_reason)
      if (entry.thumbnail_url && entry.thumbnail_url !== t.thumb.querySelector('img')?.getAttribute('src')) {
        setThumbnail(t.thumb, entry.thumbnail_url)
      }
      if (before !== entry.status) readable.push(`${t.video.title}: ${statusLabel(entry.status)}`)
    }
    if (readable.length === 1) announce(readable[0])
    else if (readable.length > 1) announce(`${readable.length} videos changed status. ${readable.slice(0, 3).join('. ')}`)
  }

  function markMissing(id: string): void {
    const t = tiles.get(id)
    if (!t) return
    t.root.dataset.status = 'missing'
    t.root.classList.add('gone')
    const badge = t.root.querySelector<HTMLElement>('[data-testid="status-badge"]')
    if (badge) updateBadge(badge, 'missing')
    if (t.checkbox) { t.checkbox.checked = false; t.checkbox.disabled = true }
    selected.delete(id)
    refreshSelection()
  }

  // ---- data ----
  async function load(): Promise<void> {
    replace(body, loading('Loading videos…'))
    const mine = ++generation
    if (isFinding(find)) { await loadFound(null, mine); return }
    try {
      data = await listVideos(page, PAGE_SIZE, ctx.signal)
    } catch (err) {
      if (ctx.signal.aborted) return
      replace(body, errorBoxFor(err, () => void load()))
      return
    }
    if (ctx.signal.aborted || mine !== generation) return
    const totalPages = Math.max(1, Math.ceil(data.total / (data.page_size || PAGE_SIZE)))
    if (page > totalPages && data.total > 0) { location.replace(href('/', { page: totalPages })); return }
    tiles.clear()
    selected.clear()
    allMode = false
    totalText.textContent = data.total ? plural(data.total, 'video') : ''
    if (!data.videos.length) {
      replace(body, emptyState('No videos yet',
        admin ? 'Upload a video, or sync to pick up videos already in the bucket.'
          : canWrite ? 'Upload a video to start the library.' : 'Nothing has been uploaded yet.',
        canWrite ? h('a', { class: 'button primary', href: href('/upload') }, 'Upload a video') : null,
        'library-empty'))
      refreshSelection()
      return
    }
    const grid = h('ul', { class: 'grid', 'data-testid': 'library-grid', 'aria-label': 'Videos' })
    for (const v of data.videos) {
      const t = tile(v)
      tiles.set(v.id, t)
      grid.append(t.root)
      poller.watch(v.id, v.status, { status: v.status, status_reason: v.status_reason, thumbnail_url: v.thumbnail_url })
    }
    replace(body, grid,
      totalPages > 1
        ? pager({
            label: 'Library pages',
            info: `Page ${page} of ${totalPages}`,
            prev: { href: href('/', { page: page - 1 }), disabled: page <= 1 },
            next: { href: href('/', { page: page + 1 }), disabled: page >= totalPages },
          })
        : null)
    refreshSelection()
  }

  /** A found page: the first replaces the grid, later ones (Load more) are appended to it. */
  async function loadFound(cursor: string | null, mine: number): Promise<void> {
    moreBtn.disabled = true
    let res
    try {
      res = await findVideos({ ...apiParams(find), page_size: PAGE_SIZE, cursor }, ctx.signal)
    } catch (err) {
      if (ctx.signal.aborted || mine !== generation) return
      if (cursor) { toast((err as Error).message, 'error'); moreBtn.disabled = false }
      else replace(body, errorBoxFor(err, () => void load()))
      return
    }
    if (ctx.signal.aborted || mine !== generation) return
    if (!cursor) {
      tiles.clear()
      selected.clear()
      allMode = false
      data = { videos: [], total: res.total ?? 0, page: 1, page_size: PAGE_SIZE }
      if (!res.videos.length) {
        totalText.textContent = 'No videos found'
        replace(body, emptyState('No videos match',
          'Try fewer or shorter words, another status or dates, or clear the search.',
          h('button', { type: 'button', class: 'button', onclick: () => bar.querySelector<HTMLButtonElement>('[data-testid="find-clear"]')?.click() }, 'Clear the search'),
          'find-empty'))
        moreBtn.hidden = true
        refreshSelection()
        return
      }
      replace(body, h('ul', { class: 'grid', 'data-testid': 'library-grid', 'aria-label': 'Videos found' }),
        h('div', { class: 'load-more' }, moreBtn))
    }
    const grid = body.querySelector('ul.grid')!
    for (const v of res.videos) {
      if (tiles.has(v.id)) continue
      const t = tile(v)
      tiles.set(v.id, t)
      grid.append(t.root)
      poller.watch(v.id, v.status, { status: v.status, status_reason: v.status_reason, thumbnail_url: v.thumbnail_url })
    }
    nextCursor = res.next_cursor
    moreBtn.hidden = !nextCursor
    moreBtn.disabled = false
    totalText.textContent = !cursor && res.total != null
      ? `${plural(res.total, 'video')} found`
      : `${plural(tiles.size, 'video')} shown${nextCursor ? ' — load more to see the rest' : ''}`
    if (cursor) announce(`${plural(res.videos.length, 'more video')} shown.`)
    refreshSelection()
  }

  moreBtn.addEventListener('click', () => { if (nextCursor) void loadFound(nextCursor, generation) })

  // ---- actions ----
  async function busy(btn: HTMLButtonElement, label: string, fn: () => Promise<void>): Promise<void> {
    const span = btn.querySelector('span')
    const old = span?.textContent ?? btn.textContent
    btn.disabled = true
    btn.setAttribute('aria-busy', 'true')
    if (span) span.textContent = label
    try {
      await fn()
    } catch (err) {
      toast(err instanceof ApiError ? err.message : 'Something went wrong. Try again.', 'error')
    } finally {
      btn.removeAttribute('aria-busy')
      if (span) span.textContent = old
      btn.disabled = false
      refreshSelection()
    }
  }

  indexBtn.addEventListener('click', () => void busy(indexBtn, 'Sending…', async () => {
    const reindexReady = reindex.checked
    const res = await indexVideos(allMode ? { all: true, reindex: reindexReady }
      : { ids: [...selected], ...(reindexReady ? { reindex: true } : {}) })
    for (const id of res.queued) {
      if (!tiles.has(id)) continue // "all" may queue videos on other pages; only this page is shown and polled
      applyStatus({ [id]: { status: 'sending', index_started_at: new Date().toISOString() } })
      poller.watch(id, 'sending')
    }
    poller.poke()
    const skipped = Object.entries(res.skipped ?? {})
    const parts = [res.queued.length ? `Indexing started for ${plural(res.queued.length, 'video')}.` : 'Nothing new to index.']
    if (skipped.length) {
      const reasons: Record<string, number> = {}
      for (const [, r] of skipped) reasons[r] = (reasons[r] ?? 0) + 1
      parts.push(skippedSentence(reasons))
    }
    toast(parts.join(' '), res.queued.length ? 'success' : 'info')
    clearSelection()
  }))

  deleteBtn.addEventListener('click', async () => {
    const count = allMode ? data?.total ?? 0 : selected.size
    const only = !allMode && count === 1 ? tiles.get([...selected][0])?.video.title : undefined
    const ok = await confirmDialog({
      title: allMode ? `Delete all ${plural(count, 'video')}?` : only ? `Delete “${only}”?` : `Delete ${plural(count, 'video')}?`,
      body: 'This removes the files from storage, the search index entry and the library record. It cannot be undone.',
      confirmLabel: 'Delete',
      danger: true,
    })
    if (!ok) return
    await busy(deleteBtn, 'Deleting…', async () => {
      const res = await deleteVideos(allMode ? { all: true } : { ids: [...selected] })
      const results = Object.entries(res.results ?? {})
      const failed = results.filter(([, r]) => !r.ok)
      if (failed.length) {
        toast(`Deleted ${results.length - failed.length}; ${failed.length} could not be deleted: ${failed.slice(0, 3).map(([id, r]) => `${tiles.get(id)?.video.title ?? id} (${r.error ?? 'unknown error'})`).join(', ')}.`, 'error')
      } else {
        toast(`Deleted ${plural(results.length, 'video')}.`, 'success')
      }
      clearSelection()
      await load()
    })
  })

  syncBtn.addEventListener('click', () => void busy(syncBtn, 'Syncing…', async () => {
    const res = await syncBucket()
    const n = res.added?.length ?? 0
    toast(n ? `Found ${plural(n, 'new video')} in the bucket.` : 'No new videos found in the bucket.', n ? 'success' : 'info')
    if (n) await load()
  }))

  resetBtn.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Reset the whole library?',
      body: 'Every video, its files and its index entry will be deleted. Only admins can do this.',
      confirmLabel: 'Reset library',
      danger: true,
      typeToConfirm: 'RESET',
    })
    if (!ok) return
    await busy(resetBtn, 'Resetting…', async () => {
      const res = await resetLibrary()
      toast(`Library reset: ${plural(res.deleted ?? 0, 'video')} deleted.`, 'success')
      await load()
    })
  })

  await load()
}
