/** Tiny DOM builder: elements from tag + attributes + children, never HTML strings (no injection from data). */

export type Child = Node | string | number | null | undefined | false | Child[]
type Handler = (ev: any) => void
export type Attrs = Record<string, string | number | boolean | Handler | null | undefined>

/** Create an element. `on<event>` attributes become listeners; `true` sets a boolean attribute; null/false skip. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag)
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value == null || value === false) continue
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2).toLowerCase(), value as EventListener)
      } else if (key === 'class') {
        el.className = String(value)
      } else if (key === 'value' && 'value' in el) {
        ;(el as HTMLInputElement).value = String(value)
      } else if (key === 'checked' && el instanceof HTMLInputElement) {
        el.checked = Boolean(value)
      } else if (value === true) {
        el.setAttribute(key, '')
      } else {
        el.setAttribute(key, String(value))
      }
    }
  }
  append(el, children)
  return el
}

/** Append children (strings become text nodes; arrays are flattened; falsy values skipped). */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child == null || child === false) continue
    if (Array.isArray(child)) append(parent, child)
    else if (child instanceof Node) parent.appendChild(child)
    else parent.appendChild(document.createTextNode(String(child)))
  }
}

/** Replace all children of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren()
  append(parent, children)
}

/** An inline SVG icon from a path list (24x24 viewBox, stroke style), hidden from screen readers. */
export function icon(paths: string[], cls = 'icon'): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg'
  const svg = document.createElementNS(ns, 'svg')
  svg.setAttribute('viewBox', '0 0 24 24')
  svg.setAttribute('class', cls)
  svg.setAttribute('aria-hidden', 'true')
  svg.setAttribute('focusable', 'false')
  for (const d of paths) {
    const p = document.createElementNS(ns, 'path')
    p.setAttribute('d', d)
    svg.appendChild(p)
  }
  return svg
}

export const ICONS = {
  film: ['M4 5h16v14H4z', 'M8 5v14', 'M16 5v14', 'M4 9h4', 'M4 15h4', 'M16 9h4', 'M16 15h4'],
  upload: ['M12 16V4', 'M7 9l5-5 5 5', 'M4 20h16'],
  search: ['M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14z', 'M20 20l-4-4'],
  play: ['M8 5l11 7-11 7z'],
  trash: ['M4 7h16', 'M9 7V4h6v3', 'M6 7l1 13h10l1-13'],
  sparkle: ['M12 3l2 6 6 2-6 2-2 6-2-6-6-2 6-2z'],
  sync: ['M20 11a8 8 0 0 0-14-5L4 8', 'M4 4v4h4', 'M4 13a8 8 0 0 0 14 5l2-2', 'M20 20v-4h-4'],
  back: ['M15 5l-7 7 7 7'],
  close: ['M6 6l12 12', 'M18 6L6 18'],
  library: ['M4 4h6v6H4z', 'M14 4h6v6h-6z', 'M4 14h6v6H4z', 'M14 14h6v6h-6z'],
  image: ['M4 5h16v14H4z', 'M4 16l5-5 4 4 3-3 4 4', 'M15 9.5a1.5 1.5 0 1 0 0-.01'],
  captions: ['M3 5h18v14H3z', 'M10 10.5a2 2 0 1 0 0 3', 'M17 10.5a2 2 0 1 0 0 3'],
  download: ['M12 4v12', 'M7 11l5 5 5-5', 'M4 20h16'],
  tag: ['M3 12V4h8l9 9-8 8z', 'M7.5 8.5a1 1 0 1 0 0-.01'],
}
