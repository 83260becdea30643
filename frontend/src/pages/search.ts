/** Search results (videos ranked, with their clip counts, paged by token) and the result page that plays clips.
 * A search is by words (`?q=`) or by a picture (`?image=KEY`, the picture kept in memory by image-query.ts). */
import { app, canRead, showPage } from '../app'
import { searchImage, searchImagePage, searchVideos, type Clip, type SearchPage, type SearchResult } from '../api'
import { imageQuery, type ImageQuery } from '../image-query'
import { h, icon, ICONS, replace } from '../dom'
import { clock, isoDuration, plural } from '../format'
import { go, href, type RouteContext } from '../router'
import { emptyState, errorBoxFor, loading, pageHeader, pager, statusBadge, thumbnail } from '../ui/components'
import { announce } from '../ui/feedback'
import { backLink, player } from './video'
import { signInPrompt } from './signin'

const DEFAULT_OPTIONS = 'visual,audio'
/** Longest query shown in a heading or title; the whole query stays in the search box and the address. */
const SHOWN_QUERY = 120

/** What found a clip (API `matched`), in words: short on result chips, full in the clip list. */
const MATCH_LABELS: Record<string, [string, string]> = {
  visual: ['Picture', 'Picture or on-screen text'],
  speech: ['Speech', 'Speech'],
  sound: ['Sound', 'Sound'],
}

const shortQuery = (q: string) => (q.length > SHOWN_QUERY ? `${q.slice(0, SHOWN_QUERY - 1).trimEnd()}…` : q)

function matchLabels(clip: Clip, long: boolean): HTMLElement | null {
  const known = (clip.matched ?? []).filter((m) => MATCH_LABELS[m])
  if (!known.length) return null
  return h('span', { class: 'match-labels', 'data-testid': 'clip-matched', 'data-matched': known.join(' ') },
    h('span', { class: 'sr-only' }, 'Matched in: '),
    ...known.map((m) => h('span', { class: `match match-${m}` }, MATCH_LABELS[m][long ? 1 : 0])))
}

// Words never highlighted alone (Twelve Labs ignores them too); the rest match by a rough stem (cats ~ cat).
const STOP = new Set('a an and are as at be but by for from has have he her his i in is it its of on or our she that the their them they this to was we were what when where which who will with you your'.split(' '))
const stem = (w: string) => w.toLowerCase().replace(/'s$/, '').replace(/(ing|ed|es|s)$/, (m, _s, i: number) => (i >= 3 ? '' : m))

/** The transcript with the query's words marked (<mark>), as DOM nodes. */
function highlighted(text: string, q: string): (string | HTMLElement)[] {
  const terms = new Set(q.toLowerCase().match(/[\p{L}\p{N}']+/gu)?.filter((w) => !STOP.has(w)).map(stem) ?? [])
  const out: (string | HTMLElement)[] = []
  for (const piece of text.split(/([\p{L}\p{N}']+)/u)) {
    if (piece && terms.has(stem(piece))) out.push(h('mark', { 'data-testid': 'transcript-hit' }, piece))
    else if (piece) out.push(piece)
  }
  return out
}

/** Pages already fetched, so opening a result and coming back does not search again. */
const cache = new Map<string, SearchPage>()
/** Tokens of the pages seen per query: tokens[n-1] opens page n (page 1 has none). */
const tokenTrail = new Map<string, (string | null)[]>()

/** What was searched: words with the kinds of search, or a picture. */
type Query = { kind: 'text'; q: string; options: string } | { kind: 'image'; key: string; image: ImageQuery | null }

const queryKey = (s: Query) => (s.kind === 'text' ? `${s.options}\u0000${s.q}` : `image\u0000${s.key}`)
const cacheKey = (s: Query, token: string | null) => `${token ?? ''}\u0000${queryKey(s)}`
/** The address parameters naming the search (pages and result links add page_token and p). */
const queryParams = (s: Query): Record<string, string> => (s.kind === 'text' ? { q: s.q, options: s.options } : { image: s.key })

async function fetchPage(s: Query, token: string | null, signal: AbortSignal): Promise<SearchPage> {
  const key = cacheKey(s, token)
  const hit = cache.get(key)
  if (hit) return hit
  let page: SearchPage
  if (s.kind === 'text') page = await searchVideos(s.q, s.options, token, signal)
  else if (token) page = await searchImagePage(token, signal)
  else if (s.image) page = await searchImage(s.image.blob, s.image.filename, signal)
  else throw new Error('The picture of this search is no longer here: choose, drop or paste it on the search box again.')
  cache.set(key, page)
  if (cache.size > 30) cache.delete(cache.keys().next().value as string)
  return page
}

function queryFrom(query: URLSearchParams): Query {
  const key = query.get('image')
  if (key) return { kind: 'image', key, image: imageQuery(key) }
  return { kind: 'text', q: (query.get('q') ?? '').trim(), options: optionsFrom(query) }
}

/** The picture searched with, shown above its results. */
function imagePreview(image: ImageQuery): HTMLElement {
  return h('figure', { class: 'image-query', 'data-testid': 'image-query' },
    h('img', { src: image.previewUrl, alt: `The picture searched with: ${image.label}`, 'data-testid': 'image-query-preview' }),
    h('figcaption', { class: 'muted' }, `Searched with ${image.label}`))
}

/** Where a clip is in the video's chapters ("Chapter 2: Kitchen"), or null when the video has none. */
function chapterLabel(clip: Clip, long: boolean): HTMLElement | null {
  const c = clip.chapter
  if (!c || !c.title) return null
  return h('span', { class: 'clip-chapter', 'data-testid': 'clip-chapter', 'data-chapter-index': c.index },
    long ? `Chapter ${c.index + 1}: ${c.title}` : c.title)
}

const NO_IMAGE = () => emptyState('This picture search is no longer available',
  'Pictures are kept only while this tab is open. Choose, drop or paste the picture on the search box again.',
  h('a', { class: 'button', href: href('/') }, 'Go to the library'), 'image-missing')

function optionsFrom(query: URLSearchParams): string {
  const raw = (query.get('options') ?? DEFAULT_OPTIONS).split(',').filter((o) => o === 'visual' || o === 'audio')
  return raw.length ? raw.join(',') : DEFAULT_OPTIONS
}

export async function renderSearch(ctx: RouteContext): Promise<void> {
  if (!canRead()) { showPage('Sign in', signInPrompt('Sign in to search the library.')); return }
  const search = queryFrom(ctx.query)
  if (search.kind === 'image') { await renderImageSearch(ctx, search); return }
  const { q, options } = search
  const token = ctx.query.get('page_token')
  const pageNo = Math.max(1, Number.parseInt(ctx.query.get('p') ?? '1', 10) || 1)

  // Where to search: visual (what is seen, on-screen text) and audio (speech, sounds). At least one stays on.
  const optionBox = (value: string, label: string) => {
    const input = h('input', { type: 'checkbox', value, checked: options.split(',').includes(value), 'data-testid': `search-option-${value}` })
    input.addEventListener('change', () => {
      const chosen = [...filters.querySelectorAll<HTMLInputElement>('input:checked')].map((i) => i.value)
      if (!chosen.length) { input.checked = true; announce('At least one kind of search must stay on.'); return }
      go('/search', { q, options: chosen.join(',') })
    })
    return h('label', { class: 'check small' }, input, h('span', null, label))
  }
  const filters = h('fieldset', { class: 'search-options', 'data-testid': 'search-options' },
    h('legend', { class: 'sr-only' }, 'Search in'),
    h('span', { class: 'muted', 'aria-hidden': 'true' }, 'Search in:'),
    optionBox('visual', 'Visuals'), optionBox('audio', 'Speech and sound'))

  const body = h('div', { class: 'search-body' })
  const header = pageHeader(q ? `Results for “${shortQuery(q)}”` : 'Search')
  header.querySelector('h1')?.classList.add('clamp')
  showPage(q ? `“${shortQuery(q)}”` : 'Search',
    header,
    q ? filters : null,
    body,
  )
  if (!q) {
    replace(body, emptyState('Search the library', 'Describe what you are looking for, e.g. “cats playing on the floor”, in the search box above — or search by picture: choose one with the picture button, or drop or paste a JPEG or PNG on the search box.', null, 'search-empty'))
    return
  }
  await showResults(ctx, search, body, token, pageNo)
}

/** Results of a search with a picture: the picture, then videos with clips like it, as for words. */
async function renderImageSearch(ctx: RouteContext, search: Query & { kind: 'image' }): Promise<void> {
  const token = ctx.query.get('page_token')
  const pageNo = Math.max(1, Number.parseInt(ctx.query.get('p') ?? '1', 10) || 1)
  const body = h('div', { class: 'search-body' })
  showPage('Scenes like a picture', pageHeader('Scenes like this picture'),
    search.image ? imagePreview(search.image) : null, body)
  // the first page needs the picture itself; later pages (and pages already seen) only need the token / cache
  if (!search.image && !token && !cache.has(cacheKey(search, null))) { replace(body, NO_IMAGE()); return }
  await showResults(ctx, search, body, token, pageNo)
}

/** One page of results (either kind): videos with their clips, the pager by next_page_token. */
async function showResults(ctx: RouteContext, search: Query, body: HTMLElement, token: string | null, pageNo: number): Promise<void> {
  replace(body, loading(search.kind === 'image' ? 'Looking for scenes like this picture…' : 'Searching…'))
  let page: SearchPage
  try {
    page = await fetchPage(search, token, ctx.signal)
  } catch (err) {
    if (ctx.signal.aborted) return
    replace(body, errorBoxFor(err, () => void renderSearch(ctx)))
    return
  }
  if (ctx.signal.aborted) return

  const trailKey = queryKey(search)
  const trail = tokenTrail.get(trailKey) ?? [null]
  trail[pageNo - 1] = token
  tokenTrail.set(trailKey, trail)

  if (!page.results.length) {
    replace(body, emptyState(pageNo > 1 ? 'No more results' : 'No matching videos',
      pageNo > 1 ? 'That was the last page.'
        : search.kind === 'image' ? 'No scene looks like this picture. Try another picture, or check that your videos have been indexed (status Ready).'
          : 'Try other words, or check that your videos have been indexed (status Ready).',
      h('a', { class: 'button', href: href('/') }, 'Go to the library'), 'search-empty'))
    announce('No results.')
    return
  }

  const list = h('ol', { class: 'results', 'data-testid': 'search-results' })
  for (const r of page.results) list.append(resultTile(r, queryParams(search), token, pageNo))
  const prevToken = pageNo > 1 ? trail[pageNo - 2] : undefined
  replace(body,
    h('p', { class: 'muted', 'data-testid': 'search-count' }, `${plural(page.results.length, 'video')} on this page`),
    list,
    pageNo > 1 || page.next_page_token
      ? pager({
          label: 'Result pages',
          info: `Page ${pageNo}`,
          prev: {
            href: pageNo > 1 ? href('/search', { ...queryParams(search), page_token: prevToken ?? null, p: pageNo - 1 }) : undefined,
            disabled: pageNo <= 1 || prevToken === undefined,
          },
          next: {
            href: page.next_page_token ? href('/search', { ...queryParams(search), page_token: page.next_page_token, p: pageNo + 1 }) : undefined,
            disabled: !page.next_page_token,
          },
        })
      : null,
  )
  announce(`${plural(page.results.length, 'matching video')}.`)
}

function resultTile(r: SearchResult, params: Record<string, string>, token: string | null, pageNo: number): HTMLElement {
  const link = href(`/search/${encodeURIComponent(r.video.id)}`, { ...params, page_token: token, p: pageNo })
  const clips = [...r.clips].sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0))
  return h('li', { class: 'result', 'data-testid': 'search-result', 'data-video-id': r.video.id },
    h('a', { class: 'result-thumb', href: link, tabindex: '-1', 'aria-hidden': 'true' },
      thumbnail(clips[0]?.thumbnail_url ?? r.video.thumbnail_url)),
    h('div', { class: 'result-body' },
      h('h2', { class: 'tile-title' }, h('a', { href: link, 'data-testid': 'result-title' }, r.video.title || 'Untitled')),
      h('p', { class: 'tile-meta' },
        h('span', { class: 'clip-count', 'data-testid': 'clip-count', 'data-count': r.clips.length }, plural(r.clips.length, 'matching clip')),
        r.video.duration != null ? [h('span', { 'aria-hidden': 'true' }, ' · '), `${clock(r.video.duration)} long`] : null),
      // Each chip opens the result page playing that clip (its start in `t`).
      h('p', { class: 'clip-chips' },
        ...clips.slice(0, 4).map((c) => h('a', {
          class: 'chip chip-link', 'data-testid': 'clip-chip', 'data-start': c.start,
          href: href(`/search/${encodeURIComponent(r.video.id)}`, { ...params, page_token: token, p: pageNo, t: c.start }),
        }, h('span', { class: 'sr-only' }, 'Play clip '), `${clock(c.start)}–${clock(c.end)}`, matchLabels(c, false),
        c.chapter?.title ? h('span', { class: 'sr-only' }, ', in chapter ') : null, chapterLabel(c, false))),
        clips.length > 4 ? h('a', { class: 'chip muted', href: link }, `+${clips.length - 4} more`) : null),
    ),
  )
}

/** Result page: the video with its matching clips; choosing a clip plays it from its start and stops at its end. */
export async function renderResult(ctx: RouteContext): Promise<void> {
  if (!canRead()) { showPage('Sign in', signInPrompt('Sign in to watch search results.')); return }
  const id = ctx.params.id
  const search = queryFrom(ctx.query)
  const q = search.kind === 'text' ? search.q : ''
  const token = ctx.query.get('page_token')
  const pageNo = ctx.query.get('p')
  const back = href('/search', { ...queryParams(search), page_token: token, p: pageNo })
  const startAt = Number.parseFloat(ctx.query.get('t') ?? '')
  const body = h('div', { class: 'result-page', 'data-testid': 'result-page', 'data-video-id': id }, loading('Loading result…'))
  showPage('Result', backLink(back, search.kind === 'image' ? 'Scenes like this picture' : q ? `Results for “${shortQuery(q)}”` : 'Search'), body)

  let result: SearchResult | undefined
  try {
    const known = search.kind === 'text' ? Boolean(q) : Boolean(search.image || token || cache.has(cacheKey(search, null)))
    const page = known ? await fetchPage(search, token, ctx.signal) : null
    result = page?.results.find((r) => r.video.id === id)
  } catch (err) {
    if (ctx.signal.aborted) return
    replace(body, errorBoxFor(err, () => void renderResult(ctx)))
    return
  }
  if (ctx.signal.aborted) return
  if (!result) {
    replace(body, emptyState('This result is no longer available', 'Search again, or open the video itself.',
      h('a', { class: 'button', href: href(`/videos/${encodeURIComponent(id)}`) }, 'Open the video'), 'result-missing'))
    return
  }

  const v = result.video
  document.title = search.kind === 'image' ? `${v.title} · scenes like a picture` : `${v.title} · “${shortQuery(q)}”`
  const video = player(v)
  const clips = [...result.clips].sort((a, b) => (a.rank ?? 0) - (b.rank ?? 0))
  const nowPlaying = h('p', { class: 'now-playing', 'aria-live': 'polite', 'data-testid': 'now-playing' })
  let active: { clip: Clip; button: HTMLButtonElement } | null = null
  let raf = 0

  // Stop at the clip's end: a frame-accurate check while playing (timeupdate alone fires only every ~250 ms).
  const watchEnd = () => {
    cancelAnimationFrame(raf)
    const step = () => {
      if (!active || video.paused) return
      if (video.currentTime >= active.clip.end) {
        video.pause()
        video.currentTime = active.clip.end
        return
      }
      raf = requestAnimationFrame(step)
    }
    raf = requestAnimationFrame(step)
  }
  // The line under the player says what the player is doing, from its own events (never ahead of them).
  const clipName = (c: Clip) => `clip ${clock(c.start)} to ${clock(c.end)}`
  const say = (text: string, state: string) => { nowPlaying.textContent = text; nowPlaying.dataset.state = state }
  video.addEventListener('playing', () => say(active ? `Playing ${clipName(active.clip)}.` : 'Playing.', 'playing'))
  video.addEventListener('waiting', () => { if (!video.paused) say('Loading…', 'loading') })
  video.addEventListener('pause', () => {
    if (active && video.currentTime >= active.clip.end - 0.05) say(`The ${clipName(active.clip)} finished. Press play to watch it again.`, 'finished')
    else say(active ? `Paused in ${clipName(active.clip)}. Press play to go on.` : 'Paused.', 'paused')
  })
  video.addEventListener('play', () => {
    // Pressing play at (or past) the end of the chosen clip replays that clip.
    if (active && (video.currentTime >= active.clip.end - 0.05 || video.currentTime < active.clip.start - 0.5)) {
      video.currentTime = active.clip.start
    }
    watchEnd()
  })
  video.addEventListener('seeked', () => {
    // A seek outside the chosen clip means free viewing: stop enforcing its end.
    if (active && (video.currentTime < active.clip.start - 0.5 || video.currentTime > active.clip.end + 0.5)) select(null)
  })
  ctx.signal.addEventListener('abort', () => { cancelAnimationFrame(raf); video.pause(); video.removeAttribute('src'); video.load() })

  const select = (next: { clip: Clip; button: HTMLButtonElement } | null) => {
    active?.button.removeAttribute('aria-current')
    active?.button.closest('li')?.classList.remove('active')
    active = next
    if (next) {
      next.button.setAttribute('aria-current', 'true')
      next.button.closest('li')?.classList.add('active')
      video.dataset.clipStart = String(next.clip.start)
      video.dataset.clipEnd = String(next.clip.end)
    } else {
      delete video.dataset.clipStart
      delete video.dataset.clipEnd
    }
  }

  const playClip = (clip: Clip, button: HTMLButtonElement, autoplay = true) => {
    select({ clip, button })
    const cue = () => {
      video.currentTime = clip.start
      if (video.paused) say(`Ready to play ${clipName(clip)}. Press play to start it.`, 'ready')
      if (autoplay) void video.play().catch(() => say(`Press play to start ${clipName(clip)}.`, 'ready'))
    }
    if (video.readyState >= 1) cue()
    else video.addEventListener('loadedmetadata', cue, { once: true })
  }

  const list = h('ol', { class: 'clip-list', 'data-testid': 'clip-list', 'aria-label': 'Matching clips' })
  clips.forEach((clip, i) => {
    const button = h('button', {
      type: 'button', class: 'clip', 'data-testid': 'clip-item', 'data-start': clip.start, 'data-end': clip.end,
    },
      h('span', { class: 'sr-only' }, `Play clip ${i + 1}: `),
      h('span', { class: 'clip-thumb' }, clip.thumbnail_url ? h('img', { src: clip.thumbnail_url, alt: '', loading: 'lazy' }) : icon(ICONS.play)),
      h('span', { class: 'clip-text' },
        h('span', { class: 'clip-time', 'data-testid': 'clip-time' },
          h('time', { datetime: isoDuration(clip.start) }, clock(clip.start)), ' – ',
          h('time', { datetime: isoDuration(clip.end) }, clock(clip.end))),
        h('span', { class: 'clip-len muted' }, `${Math.max(1, Math.round(clip.end - clip.start))} s`),
        matchLabels(clip, true),
        chapterLabel(clip, true),
        clip.transcript ? h('span', { class: 'clip-transcript', 'data-testid': 'clip-transcript' }, '“', ...highlighted(clip.transcript, q), '”') : null),
    )
    button.addEventListener('click', () => playClip(clip, button))
    list.append(h('li', null, button))
  })

  replace(body,
    h('div', { class: 'page-header' },
      h('h1', { class: 'page-title', tabindex: '-1', 'data-page-heading': 'true', 'data-testid': 'video-title' }, v.title || 'Untitled'),
      h('div', { class: 'video-badge' }, statusBadge(v.status, v.status_reason, 'video-status'))),
    h('div', { class: 'video-layout' },
      h('div', { class: 'video-stage' },
        v.playback_url ? video : h('div', { class: 'stage' }, h('p', { class: 'muted' }, 'This video has no playable file.')),
        nowPlaying),
      h('aside', { class: 'video-side card' },
        h('h2', { class: 'side-title' }, `${plural(clips.length, 'matching clip')}`),
        clips.length ? list : h('p', { class: 'muted' }, 'No clips.'),
        h('a', { class: 'button subtle', href: href(`/videos/${encodeURIComponent(v.id)}`), 'data-testid': 'open-video' }, 'Open video page')),
    ),
  )
  // The heading arrived after showPage: move focus to it unless the person already moved on.
  if (document.activeElement === app.main) (body.querySelector('[data-page-heading]') as HTMLElement | null)?.focus()
  // A chip of the results list names a clip (`t`): play it (the click that got here lets the page play sound).
  // Otherwise cue the best clip without playing (autoplay with sound is blocked); one press plays it.
  const buttons = [...list.querySelectorAll<HTMLButtonElement>('[data-testid="clip-item"]')]
  const chosen = Number.isFinite(startAt) ? clips.findIndex((c) => Math.abs(c.start - startAt) < 0.01) : -1
  if (chosen >= 0) playClip(clips[chosen], buttons[chosen], true)
  else if (buttons[0] && clips[0]) playClip(clips[0], buttons[0], false)
}
