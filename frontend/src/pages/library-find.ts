/** The library's find bar: title search, mine / everyone, status, tag, date range and sort, kept in the URL hash
 * (`#/?q=…&owner=mine&status=ready&tag=kitchen&from=2026-01-01&to=2026-01-31&sort=title`) so a reload keeps it. */
import type { FindParams, FindSort } from '../api'
import { h } from '../dom'
import { statusLabel } from '../format'
import { normaliseTag, TAG_MAX_CHARS } from '../insight-text'

export interface FindState {
  q: string
  owner: 'mine' | 'everyone'
  status: string
  /** one tag, normalised as the server stores tags ('' = any) */
  tag: string
  /** YYYY-MM-DD, local days, both inclusive */
  from: string
  to: string
  sort: FindSort
}

export const MAX_QUERY = 200 // the API's limit (GET /videos q)
const SORTS: [FindSort, string][] = [
  ['newest', 'Newest first'], ['oldest', 'Oldest first'], ['title', 'Title A–Z'], ['duration', 'Longest first'],
]
const STATUSES = ['ready', 'uploaded', 'indexing', 'failed', 'uploading']
const DAY = /^\d{4}-\d{2}-\d{2}$/

export function readFind(query: URLSearchParams): FindState {
  const sort = query.get('sort') as FindSort
  const day = (v: string | null) => (v && DAY.test(v) ? v : '')
  return {
    q: (query.get('q') ?? '').slice(0, MAX_QUERY),
    owner: query.get('owner') === 'mine' ? 'mine' : 'everyone',
    status: STATUSES.includes(query.get('status') ?? '') ? query.get('status')! : '',
    tag: normaliseTag(query.get('tag') ?? '').slice(0, TAG_MAX_CHARS),
    from: day(query.get('from')),
    to: day(query.get('to')),
    sort: SORTS.some(([s]) => s === sort) ? sort : 'newest',
  }
}

/** Anything other than the plain newest-first library (which keeps its numbered pages). */
export function isFinding(s: FindState): boolean {
  return Boolean(s.q.trim() || s.owner === 'mine' || s.status || s.tag || s.from || s.to || s.sort !== 'newest')
}

/** The hash query of a state (defaults left out). */
export function hashQuery(s: FindState): Record<string, string | undefined> {
  return {
    q: s.q.trim() || undefined, owner: s.owner === 'mine' ? 'mine' : undefined, status: s.status || undefined,
    tag: s.tag || undefined, from: s.from || undefined, to: s.to || undefined, sort: s.sort !== 'newest' ? s.sort : undefined,
  }
}

/** Local midnight of a YYYY-MM-DD day plus `addDays`, as an ISO time (the API reads it with its zone). */
function localMidnight(day: string, addDays = 0): string {
  const [y, m, d] = day.split('-').map(Number)
  return new Date(y, m - 1, d + addDays).toISOString()
}

/** The API parameters: the days of the date range are the viewer's local days (`to` includes its day). */
export function apiParams(s: FindState): FindParams {
  return {
    q: s.q.trim() || undefined, owner: s.owner, status: s.status || undefined, tag: s.tag || undefined, sort: s.sort,
    from: s.from ? localMidnight(s.from) : undefined, to: s.to ? localMidnight(s.to, 1) : undefined,
  }
}

/** The controls; `onChange` gets the new state (typing waits for a pause; the rest applies at once). */
export function findBar(state: FindState, opts: { signedIn: boolean; onChange: (s: FindState) => void }): HTMLElement {
  const q = h('input', {
    type: 'search', id: 'find-q', class: 'find-q', 'data-testid': 'find-q', value: state.q, maxlength: MAX_QUERY,
    placeholder: 'Search titles', autocomplete: 'off', 'aria-describedby': 'find-hint',
  })
  const select = (id: string, label: string, options: [string, string][], value: string) =>
    h('label', { class: 'find-field', for: id }, h('span', null, label),
      h('select', { id, 'data-testid': id },
        ...options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))))
  const owner = opts.signedIn
    ? select('find-owner', 'Show', [['everyone', 'Everyone’s videos'], ['mine', 'My videos']], state.owner) : null
  const status = select('find-status', 'Status',
    [['', 'Any status'], ...STATUSES.map((s): [string, string] => [s, statusLabel(s)])], state.status)
  const date = (id: string, label: string, value: string) =>
    h('label', { class: 'find-field', for: id }, h('span', null, label),
      h('input', { type: 'date', id, 'data-testid': id, value }))
  const tag = h('label', { class: 'find-field find-tag', for: 'find-tag' }, h('span', null, 'Tag'),
    h('input', { type: 'search', id: 'find-tag', 'data-testid': 'find-tag', value: state.tag, maxlength: TAG_MAX_CHARS,
      placeholder: 'Any tag', autocomplete: 'off' }))
  const sort = select('find-sort', 'Sort', SORTS, state.sort)
  const clear = h('button', { type: 'button', class: 'button subtle', 'data-testid': 'find-clear' }, 'Clear')
  const form = h('form', { class: 'find-bar', role: 'search', 'aria-label': 'Find videos', 'data-testid': 'find-form' },
    h('label', { class: 'find-field find-text', for: 'find-q' }, h('span', null, 'Title'), q),
    owner, status, tag, date('find-from', 'From', state.from), date('find-to', 'To', state.to), sort, clear,
    h('p', { class: 'find-hint muted', id: 'find-hint' }, 'Finds titles with words starting with what you type.'),
  )
  const value = (id: string) => (form.querySelector(`#${id}`) as HTMLInputElement | HTMLSelectElement | null)?.value ?? ''
  const current = (): FindState => ({
    q: q.value.slice(0, MAX_QUERY), owner: value('find-owner') === 'mine' ? 'mine' : 'everyone',
    status: value('find-status'), tag: normaliseTag(value('find-tag')).slice(0, TAG_MAX_CHARS),
    from: value('find-from'), to: value('find-to'), sort: value('find-sort') as FindSort,
  })
  let timer: number | undefined
  let last = JSON.stringify(current())
  const apply = () => {
    window.clearTimeout(timer)
    const next = current()
    if (JSON.stringify(next) === last) return
    last = JSON.stringify(next)
    opts.onChange(next)
  }
  form.addEventListener('submit', (e) => { e.preventDefault(); apply() })
  q.addEventListener('input', () => { window.clearTimeout(timer); timer = window.setTimeout(apply, 350) })
  form.addEventListener('change', (e) => { if (e.target !== q) apply() })
  // the tag field applies after a pause in typing too (search inputs fire "change" only on Enter or leaving them)
  form.querySelector('#find-tag')!.addEventListener('input', () => { window.clearTimeout(timer); timer = window.setTimeout(apply, 350) })
  clear.addEventListener('click', () => {
    q.value = ''
    for (const id of ['find-owner', 'find-status', 'find-tag', 'find-from', 'find-to']) {
      const el = form.querySelector(`#${id}`) as HTMLInputElement | HTMLSelectElement | null
      if (el) el.value = id === 'find-owner' ? 'everyone' : ''
    }
    ;(form.querySelector('#find-sort') as HTMLSelectElement).value = 'newest'
    apply()
  })
  return form
}

/** Filter the library by `tag` through the bar (as if typed in its Tag field), keeping the other filters. */
export function filterByTag(bar: HTMLElement, tag: string): void {
  const input = bar.querySelector<HTMLInputElement>('#find-tag')
  if (!input) return
  input.value = tag
  input.dispatchEvent(new Event('change', { bubbles: true }))
}
