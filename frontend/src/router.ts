/** Hash router (works from a static bucket): `#/path?query`, one AbortSignal per visit for page cleanup. */

export interface RouteContext {
  params: Record<string, string>
  query: URLSearchParams
  /** Aborted when the person leaves the page: stop timers, cancel requests, destroy widgets. */
  signal: AbortSignal
}

export interface Route {
  path: string // e.g. "/videos/:id"
  render: (ctx: RouteContext) => Promise<void> | void
}

interface Compiled extends Route { regex: RegExp; keys: string[] }

/** Return false to keep the person on the page (e.g. an upload in progress). */
export type LeaveGuard = () => boolean

export class Router {
  private routes: Compiled[] = []
  private current: AbortController | null = null
  private guard: LeaveGuard | null = null
  private currentHash = ''

  constructor(routes: Route[], private notFound: (ctx: RouteContext) => void) {
    for (const r of routes) {
      const keys: string[] = []
      const pattern = r.path.replace(/:(\w+)/g, (_, k: string) => { keys.push(k); return '([^/]+)' })
      this.routes.push({ ...r, keys, regex: new RegExp(`^${pattern}/?$`) })
    }
    window.addEventListener('hashchange', () => this.onHashChange())
  }

  start(): void { this.dispatch() }

  /** Re-render the current page (after sign-in/out). */
  refresh(): void { this.dispatch() }

  setLeaveGuard(guard: LeaveGuard | null): void { this.guard = guard }

  private onHashChange(): void {
    if (this.guard && !this.guard()) {
      // Put the old address back; replaceState fires no hashchange, so nothing re-renders.
      history.replaceState(null, '', this.currentHash || '#/')
      return
    }
    this.dispatch()
  }

  private dispatch(): void {
    this.guard = null
    this.current?.abort()
    const ctl = new AbortController()
    this.current = ctl
    this.currentHash = location.hash
    const { path, query } = parseHash(location.hash)
    for (const r of this.routes) {
      const m = r.regex.exec(path)
      if (!m) continue
      const params: Record<string, string> = {}
      r.keys.forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]) })
      void r.render({ params, query, signal: ctl.signal })
      return
    }
    this.notFound({ params: {}, query, signal: ctl.signal })
  }
}

export function parseHash(hash: string): { path: string; query: URLSearchParams } {
  const raw = hash.replace(/^#/, '') || '/'
  const i = raw.indexOf('?')
  const path = (i >= 0 ? raw.slice(0, i) : raw) || '/'
  return { path: path.startsWith('/') ? path : `/${path}`, query: new URLSearchParams(i >= 0 ? raw.slice(i + 1) : '') }
}

/** Build a hash link: href('/search', {q: 'cats'}) → "#/search?q=cats". */
export function href(path: string, query: Record<string, string | number | null | undefined> = {}): string {
  const qs = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) if (v != null && v !== '') qs.set(k, String(v))
  const s = qs.toString()
  return `#${path}${s ? `?${s}` : ''}`
}

export function go(path: string, query: Record<string, string | number | null | undefined> = {}): void {
  location.hash = href(path, query).slice(1)
}
