/** The video page's insights: summary and title suggestion, highlights, tags, chapters and the transcript (click
 * to seek, the current one highlighted while playing), captions in the player, "Find scenes like this". */
import {
  ApiError, editVideo, fetchCaptions, getInsights, getVideo, regenerateInsights, type Chapter, type Insights, type TranscriptLine,
  type Video,
} from '../api'
import { h, icon, ICONS, replace } from '../dom'
import { clock, dateTime, isoDuration, stopwatch } from '../format'
import { captureFrame } from '../frame-capture'
import { searchByImage } from '../image-query'
import {
  addTags, findInLines, INSIGHTS_IN_FLIGHT, insightStateText, matchCountText, nextPollDelay, sameTags, spanAt,
  tagProblem, type Match,
} from '../insight-text'
import { href } from '../router'
import { confirmDialog } from '../ui/dialog'
import { announce, toast } from '../ui/feedback'

export interface InsightsView {
  /** under the player: tools row, summary, highlights, tags */
  main: HTMLElement
  /** in the side column: chapters and transcript */
  side: HTMLElement
  /** ask again (the video just became Ready, so generation may have started) */
  refresh: () => void
}

interface Options {
  video: Video
  player: HTMLVideoElement
  signal: AbortSignal
  /** the video changed on the server (title or tags saved here) */
  onVideo: (v: Video) => void
}

/** Arrow keys, Home and End move between the buttons of a list (chapters, highlights, transcript). */
function listKeys(list: HTMLElement): void {
  list.addEventListener('keydown', (e: KeyboardEvent) => {
    const buttons = [...list.querySelectorAll<HTMLButtonElement>('li > button')]
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement)
    if (at < 0) return
    const to = e.key === 'ArrowDown' ? at + 1 : e.key === 'ArrowUp' ? at - 1 : e.key === 'Home' ? 0
      : e.key === 'End' ? buttons.length - 1 : -2
    if (to === -2) return
    e.preventDefault()
    buttons[Math.max(0, Math.min(buttons.length - 1, to))]?.focus()
  })
}

/** Scroll `container` (not the page) so that `el` is in view. */
function keepVisible(container: HTMLElement, el: HTMLElement): void {
  const top = el.offsetTop
  const bottom = top + el.offsetHeight
  if (top < container.scrollTop) container.scrollTop = Math.max(0, top - 8)
  else if (bottom > container.scrollTop + container.clientHeight) container.scrollTop = bottom - container.clientHeight + 8
}

const timeRange = (start: number, end: number) => [
  h('time', { datetime: isoDuration(start) }, stopwatch(start)), '–', h('time', { datetime: isoDuration(end) }, stopwatch(end)),
]

export function insightsView(opts: Options): InsightsView {
  const { player, signal } = opts
  let video = opts.video
  let insights: Insights | null = null
  let pollDelay: number | null = null
  let pollTimer = 0
  let captionsUrl: string | null = null
  let captionsFor = '' // generated_at of the insights the captions were fetched for
  let expectRun = 0 // the video just became Ready: a few more asks while its run may not be queued yet

  // ---- layout ----
  const findScenes = h('button', {
    type: 'button', class: 'button', 'data-testid': 'find-scenes',
    title: 'Search the library for scenes that look like the frame shown in the player',
  }, icon(ICONS.image), h('span', null, 'Find scenes like this'))
  const download = h('button', { type: 'button', class: 'button', 'data-testid': 'download-captions', hidden: true },
    icon(ICONS.download), h('span', null, 'Download captions (.vtt)'))
  const toolError = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'find-scenes-error' })
  const status = h('div', { class: 'insights-status', 'data-testid': 'insights-status', role: 'status' })
  const statusAction = h('div', { class: 'insights-action' }) // outside the live region: a button is not news
  const summaryBox = h('div', { class: 'insights-summary' })
  const highlightsBox = h('div', { class: 'insights-highlights' })
  const tagsBox = h('section', { class: 'tags-box card', 'data-testid': 'video-tags', 'aria-labelledby': 'tags-heading' })
  const insightsCard = h('section', { class: 'insights card', 'data-testid': 'insights', 'aria-labelledby': 'insights-heading' },
    h('div', { class: 'insights-head' }, h('h2', { class: 'side-title', id: 'insights-heading' }, 'Summary'),
      h('div', { class: 'insights-state' }, status, statusAction)),
    summaryBox, highlightsBox)
  const main = h('div', { class: 'video-insights' },
    h('div', { class: 'player-tools' }, findScenes, download), toolError, insightsCard, tagsBox)
  const chaptersCard = h('section', { class: 'card side-card', 'data-testid': 'chapters-card', hidden: true, 'aria-labelledby': 'chapters-heading' })
  const transcriptCard = h('section', { class: 'card side-card', 'data-testid': 'transcript', hidden: true, 'aria-labelledby': 'transcript-heading' })
  const side = h('div', { class: 'video-side-extra' }, chaptersCard, transcriptCard)

  // ---- seeking and following the player ----
  const seek = (t: number) => {
    const go = () => {
      player.currentTime = t
      void player.play().catch(() => { /* autoplay refused: the position is set, play starts it */ })
    }
    if (player.readyState >= 1) go()
    else player.addEventListener('loadedmetadata', go, { once: true })
  }
  let chapterButtons: HTMLButtonElement[] = []
  let lineButtons: HTMLButtonElement[] = []
  let transcriptList: HTMLElement | null = null
  let followTranscript = true // off while the person scrolls or searches the transcript themselves
  const mark = (buttons: HTMLButtonElement[], index: number): boolean => {
    let changed = false
    buttons.forEach((b, i) => {
      const on = i === index
      if (on !== (b.getAttribute('aria-current') === 'true')) {
        changed = true
        if (on) b.setAttribute('aria-current', 'true')
        else b.removeAttribute('aria-current')
      }
    })
    return changed
  }
  const follow = () => {
    if (!insights) return
    const t = player.currentTime
    mark(chapterButtons, spanAt(insights.chapters, t))
    const line = spanAt(insights.transcript, t)
    if (mark(lineButtons, line) && line >= 0 && followTranscript && transcriptList && !player.paused) {
      keepVisible(transcriptList, lineButtons[line])
    }
  }
  for (const type of ['timeupdate', 'seeked', 'loadedmetadata']) player.addEventListener(type, follow)

  // ---- find scenes like this (POST /search/image with the current frame) ----
  findScenes.addEventListener('click', async () => {
    toolError.hidden = true
    findScenes.disabled = true
    findScenes.setAttribute('aria-busy', 'true')
    try {
      const frame = await captureFrame(player)
      const problem = await searchByImage(frame, 'frame.jpg', `a frame of “${video.title}” at ${stopwatch(player.currentTime)}`)
      if (problem) throw new Error(problem)
    } catch (err) {
      toolError.textContent = (err as Error).message
      toolError.hidden = false
    } finally {
      findScenes.disabled = false
      findScenes.removeAttribute('aria-busy')
    }
  })

  // ---- captions: the stored transcript as WebVTT, in the player and as a download ----
  const safeName = (title: string) => (title.replace(/[\\/:*?"<>|\u0000-\u001f]+/g, ' ').replace(/\s+/g, ' ').trim() || 'captions').slice(0, 120)
  download.addEventListener('click', () => {
    if (!captionsUrl) return
    const a = h('a', { href: captionsUrl, download: `${safeName(video.title)}.vtt`, hidden: true })
    document.body.append(a)
    a.click()
    a.remove()
  })
  async function loadCaptions(i: Insights): Promise<void> {
    if (captionsFor === (i.generated_at ?? '') && captionsUrl) return
    captionsFor = i.generated_at ?? ''
    let blob: Blob
    try {
      blob = await fetchCaptions(video.id, signal)
    } catch (err) {
      if (signal.aborted) return
      download.hidden = true
      if (!(err instanceof ApiError && err.status === 404)) toast(`Captions could not be loaded: ${(err as Error).message}`, 'error')
      return
    }
    if (signal.aborted) return
    if (captionsUrl) URL.revokeObjectURL(captionsUrl)
    captionsUrl = URL.createObjectURL(blob)
    player.querySelectorAll('track').forEach((t) => t.remove())
    const track = h('track', {
      kind: 'captions', srclang: 'en', label: 'English', default: true, src: captionsUrl, 'data-testid': 'captions-track',
    })
    player.append(track)
    track.track.mode = 'showing' // a track added after load is not picked by `default` alone
    download.hidden = false
  }
  signal.addEventListener('abort', () => {
    window.clearTimeout(pollTimer)
    if (captionsUrl) URL.revokeObjectURL(captionsUrl)
  })

  // ---- insights: load, poll while in flight, render ----
  async function load(): Promise<void> {
    window.clearTimeout(pollTimer)
    const wasRunning = insights != null && INSIGHTS_IN_FLIGHT.has(insights.state)
    try {
      insights = await getInsights(video.id, signal)
    } catch (err) {
      if (signal.aborted) return
      if (err instanceof ApiError && err.status === 404) { insightsCard.hidden = true; return } // an API without insights
      showStatus('failed', (err as Error).message, false)
      schedule() // a network or server error: ask again later, slower each time
      return
    }
    if (signal.aborted) return
    render(insights)
    if (INSIGHTS_IN_FLIGHT.has(insights.state)) { expectRun = 0; schedule() }
    else if (insights.state === 'none' && expectRun > 0) { expectRun -= 1; schedule() }
    else pollDelay = null
    if (wasRunning && insights.state === 'ready') void refreshTags() // a finished run may have set the tags
  }
  async function refreshTags(): Promise<void> {
    try {
      const fresh = await getVideo(video.id, signal)
      if (signal.aborted || sameTags(fresh.tags ?? [], video.tags ?? [])) return
      video = { ...video, tags: fresh.tags ?? [] }
      opts.onVideo(video)
      renderTags()
    } catch { /* the tags shown stay; a reload shows the new ones */ }
  }
  function schedule(): void {
    pollDelay = nextPollDelay(pollDelay)
    pollTimer = window.setTimeout(() => { if (!document.hidden) void load(); else schedule() }, pollDelay)
  }

  function regenerateButton(i: Insights): HTMLElement | null {
    if (!i.can_regenerate || INSIGHTS_IN_FLIGHT.has(i.state)) return null
    const first = i.state === 'none'
    const btn = h('button', { type: 'button', class: 'button subtle', 'data-testid': 'insights-regenerate' },
      icon(ICONS.sparkle), h('span', null, first ? 'Generate' : 'Regenerate'))
    btn.addEventListener('click', async () => {
      if (i.state === 'ready') {
        const ok = await confirmDialog({
          title: 'Regenerate the summary, chapters and transcript?',
          body: 'Twelve Labs looks at the whole video again and replaces them. Tags you edited stay as they are.',
          confirmLabel: 'Regenerate',
        })
        if (!ok) return
      }
      btn.disabled = true
      try {
        insights = await regenerateInsights(video.id)
        render(insights)
        announce('Regeneration started.')
        pollDelay = null
        schedule()
      } catch (err) {
        toast((err as Error).message, 'error')
        btn.disabled = false
      }
    })
    return btn
  }

  function showStatus(state: string, text: string, inFlight: boolean, action: HTMLElement | null = null): void {
    status.dataset.state = state
    insightsCard.dataset.state = state
    replace(status,
      inFlight ? h('progress', { class: 'progress', 'aria-label': 'Generating' }) : null,
      text ? h('p', { class: state === 'failed' ? 'insights-message failed' : 'insights-message muted', 'data-testid': 'insights-message' }, text) : null)
    replace(statusAction, action)
  }

  function render(i: Insights): void {
    const ready = i.state === 'ready'
    const inFlight = INSIGHTS_IN_FLIGHT.has(i.state)
    showStatus(i.state, ready ? '' : insightStateText(i.state, i.message), inFlight, regenerateButton(i))
    renderSummary(i)
    renderHighlights(i)
    renderChapters(i)
    renderTranscript(i)
    if (ready && i.transcript.length) void loadCaptions(i)
    follow()
  }

  function renderSummary(i: Insights): void {
    const suggestion = i.title_suggestion?.trim()
    const offer = suggestion && suggestion.toLowerCase() !== (video.title ?? '').trim().toLowerCase() ? suggestion : null
    const useTitle = offer && video.can_edit
      ? h('button', { type: 'button', class: 'button subtle', 'data-testid': 'use-title' }, 'Use this title') : null
    useTitle?.addEventListener('click', async () => {
      useTitle.disabled = true
      try {
        const updated = await editVideo(video.id, { title: offer! })
        video = { ...video, ...updated }
        opts.onVideo(video)
        toast('Title changed.', 'success')
        renderSummary(i)
      } catch (err) {
        toast((err as Error).message, 'error')
        useTitle.disabled = false
      }
    })
    replace(summaryBox,
      i.summary ? h('p', { class: 'summary-text', 'data-testid': 'insights-summary' }, i.summary) : null,
      offer ? h('div', { class: 'title-suggestion', 'data-testid': 'title-suggestion' },
        h('span', { class: 'muted' }, 'Suggested title: '), h('q', { 'data-testid': 'title-suggestion-text' }, offer), useTitle) : null,
      i.generated_at && i.state === 'ready'
        ? h('p', { class: 'insights-when muted' }, 'Made by Twelve Labs on ', h('time', { datetime: i.generated_at }, dateTime(i.generated_at)), '.')
        : null)
  }

  function spanList(items: Chapter[], testid: string, label: string): HTMLElement {
    const list = h('ol', { class: 'span-list', 'data-testid': testid, 'aria-label': label })
    items.forEach((c, n) => {
      const b = h('button', {
        type: 'button', class: 'span-item', 'data-testid': `${testid === 'chapter-list' ? 'chapter' : 'highlight'}-item`,
        'data-start': c.start, 'data-end': c.end,
      },
        h('span', { class: 'sr-only' }, `Play from ${clock(c.start)}: `),
        h('span', { class: 'span-time' }, ...timeRange(c.start, c.end)),
        h('span', { class: 'span-title' }, c.title || `Part ${n + 1}`),
        c.summary ? h('span', { class: 'span-summary muted' }, c.summary) : null)
      b.addEventListener('click', () => seek(c.start))
      list.append(h('li', null, b))
    })
    listKeys(list)
    return list
  }

  function renderHighlights(i: Insights): void {
    replace(highlightsBox, i.highlights.length
      ? [h('h3', { class: 'sub-title' }, 'Highlights'), spanList(i.highlights, 'highlight-list', 'Highlights')]
      : null)
  }

  function renderChapters(i: Insights): void {
    chaptersCard.hidden = !i.chapters.length
    const list = spanList(i.chapters, 'chapter-list', 'Chapters')
    chapterButtons = [...list.querySelectorAll<HTMLButtonElement>('button')]
    replace(chaptersCard, h('h2', { class: 'side-title', id: 'chapters-heading' }, 'Chapters'), list)
  }

  // ---- transcript with find ----
  function renderTranscript(i: Insights): void {
    transcriptCard.hidden = !i.transcript.length
    if (!i.transcript.length) { replace(transcriptCard); lineButtons = []; transcriptList = null; return }
    const lines: TranscriptLine[] = i.transcript
    const list = h('ol', { class: 'transcript-list', 'data-testid': 'transcript-list', 'aria-label': 'Transcript lines' })
    const texts: HTMLElement[] = []
    lineButtons = lines.map((line) => {
      const text = h('span', { class: 'line-text' }, line.text)
      texts.push(text)
      const b = h('button', { type: 'button', class: 'transcript-line', 'data-testid': 'transcript-line', 'data-start': line.start, 'data-end': line.end },
        h('time', { class: 'line-time', datetime: isoDuration(line.start) }, stopwatch(line.start)), text)
      b.addEventListener('click', () => seek(line.start))
      list.append(h('li', null, b))
      return b
    })
    listKeys(list)
    transcriptList = list
    // the person scrolling the list stops it following the player until they play from a line again
    list.addEventListener('wheel', () => { followTranscript = false }, { passive: true })
    list.addEventListener('click', () => { followTranscript = true })

    const find = h('input', {
      type: 'search', id: 'transcript-find', class: 'transcript-find', 'data-testid': 'transcript-find',
      placeholder: 'Find in transcript', autocomplete: 'off', 'aria-describedby': 'transcript-count',
    })
    const count = h('span', { class: 'transcript-count muted', id: 'transcript-count', 'data-testid': 'transcript-count', 'aria-live': 'polite' })
    const prev = h('button', { type: 'button', class: 'button subtle small', 'data-testid': 'transcript-prev', 'aria-label': 'Previous match', disabled: true }, '↑')
    const next = h('button', { type: 'button', class: 'button subtle small', 'data-testid': 'transcript-next', 'aria-label': 'Next match', disabled: true }, '↓')
    let matches: Match[] = []
    let current = 0
    const paint = () => {
      texts.forEach((el, n) => {
        const mine = matches.map((m, k) => ({ m, k })).filter(({ m }) => m.line === n)
        if (!mine.length) { if (el.childElementCount) el.textContent = lines[n].text; return }
        const parts: (string | HTMLElement)[] = []
        let at = 0
        for (const { m, k } of mine) {
          parts.push(lines[n].text.slice(at, m.from))
          parts.push(h('mark', { class: k === current ? 'current' : null, 'data-testid': k === current ? 'transcript-match-current' : 'transcript-match' },
            lines[n].text.slice(m.from, m.to)))
          at = m.to
        }
        parts.push(lines[n].text.slice(at))
        replace(el, ...parts)
      })
      count.textContent = matchCountText(current, matches.length, find.value.trim() !== '')
      prev.disabled = next.disabled = matches.length < 2
      const el = matches.length ? lineButtons[matches[current].line] : null
      if (el) { followTranscript = false; keepVisible(list, el) }
    }
    const step = (by: number) => {
      if (!matches.length) return
      current = (current + by + matches.length) % matches.length
      paint()
      announce(count.textContent ?? '')
    }
    let timer = 0
    find.addEventListener('input', () => {
      window.clearTimeout(timer)
      timer = window.setTimeout(() => {
        matches = findInLines(lines.map((l) => l.text), find.value)
        current = 0
        paint()
      }, 150)
    })
    find.addEventListener('keydown', (e: KeyboardEvent) => {
      if (e.key !== 'Enter') return
      e.preventDefault()
      window.clearTimeout(timer)
      const fresh = findInLines(lines.map((l) => l.text), find.value)
      if (fresh.length !== matches.length) { matches = fresh; current = 0; paint(); return }
      step(e.shiftKey ? -1 : 1)
    })
    prev.addEventListener('click', () => step(-1))
    next.addEventListener('click', () => step(1))
    replace(transcriptCard,
      h('h2', { class: 'side-title', id: 'transcript-heading' }, 'Transcript'),
      h('div', { class: 'transcript-tools' },
        h('label', { class: 'sr-only', for: 'transcript-find' }, 'Find in transcript'), find, count, prev, next),
      list)
  }

  // ---- tags (the uploader or an admin edits them: PATCH /videos/{id} tags) ----
  function renderTags(): void {
    const stored = video.tags ?? []
    let draft = [...stored]
    const error = h('p', { class: 'form-error', role: 'alert', hidden: true, 'data-testid': 'tags-error' })
    const chips = h('ul', { class: 'tag-chips', 'data-testid': 'tag-list', 'aria-label': 'Tags' })
    const save = h('button', { type: 'button', class: 'button primary', 'data-testid': 'tags-save', disabled: true }, 'Save tags')
    const drawChips = () => {
      replace(chips, ...draft.map((t) => h('li', { class: 'tag-chip', 'data-testid': 'tag-chip', 'data-tag': t },
        h('a', { class: 'tag-link', href: href('/', { tag: t }), title: `Videos tagged “${t}”` }, `#${t}`),
        video.can_edit ? h('button', {
          type: 'button', class: 'tag-remove', 'aria-label': `Remove tag ${t}`, 'data-testid': 'tag-remove',
          onclick: () => { draft = draft.filter((x) => x !== t); drawChips(); input?.focus() },
        }, icon(ICONS.close)) : null)))
      if (!draft.length) chips.append(h('li', { class: 'muted' }, video.can_edit ? 'No tags yet: add some below.' : 'No tags yet.'))
      save.disabled = sameTags(draft, stored)
    }
    let input: HTMLInputElement | null = null
    let editor: HTMLElement | null = null
    if (video.can_edit) {
      input = h('input', {
        type: 'text', id: 'tag-input', class: 'tag-input', 'data-testid': 'tag-input', autocomplete: 'off',
        placeholder: 'e.g. kitchen, #cats', 'aria-describedby': 'tag-hint',
      })
      const addBtn = h('button', { type: 'button', class: 'button', 'data-testid': 'tag-add' }, 'Add')
      const add = () => {
        if (!input!.value.trim()) return
        draft = addTags(draft, input!.value)
        input!.value = ''
        error.hidden = true
        drawChips()
      }
      addBtn.addEventListener('click', add)
      input.addEventListener('keydown', (e: KeyboardEvent) => { if (e.key === 'Enter') { e.preventDefault(); add() } })
      save.addEventListener('click', async () => {
        if (input!.value.trim()) add() // typed but not added yet: that is meant too
        const problem = tagProblem(draft)
        if (problem) { error.textContent = problem; error.hidden = false; return }
        save.disabled = true
        error.hidden = true
        try {
          const updated = await editVideo(video.id, { tags: draft })
          video = { ...video, ...updated }
          opts.onVideo(video)
          toast('Tags saved.', 'success')
          renderTags()
        } catch (err) {
          error.textContent = (err as Error).message
          error.hidden = false
          save.disabled = false
        }
      })
      editor = h('div', { class: 'tag-editor' },
        h('label', { for: 'tag-input', class: 'sr-only' }, 'Add tags'), input, addBtn, save,
        h('p', { class: 'field-hint', id: 'tag-hint' }, 'Separate tags with commas. Up to 20 tags of 1–32 characters; they are saved in lower case.'))
    }
    drawChips()
    replace(tagsBox, h('h2', { class: 'side-title', id: 'tags-heading' }, icon(ICONS.tag), h('span', null, 'Tags')), chips, editor, error)
  }

  renderTags()
  void load()
  const refresh = () => {
    if (insights && INSIGHTS_IN_FLIGHT.has(insights.state)) return // already asking
    expectRun = 3
    pollDelay = null
    void load()
  }
  return { main, side, refresh }
}
