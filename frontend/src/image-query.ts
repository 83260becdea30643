/** Pictures people search with, kept in memory for this tab (an image cannot live in the address): the search page
 * reads one by the key in `#/search?image=KEY`. Checked in the browser first, as POST /search/image checks it. */
import { IMAGE_MAX_BYTES, imageProblem } from './image-check'
import { go } from './router'

export interface ImageQuery {
  key: string
  blob: Blob
  filename: string
  /** object URL of the picture, for its preview on the results page (revoked when the query is forgotten) */
  previewUrl: string
  /** where it came from, in words: "a frame of “Cats” at 0:04", "photo.jpg" */
  label: string
}

const queries = new Map<string, ImageQuery>()
const KEEP = 10 // searches with pictures a tab keeps for Back / the result pages

/** Why `file` cannot be searched with (a sentence), or null. Reads the whole file only when it is small enough. */
export async function checkImage(file: Blob): Promise<string | null> {
  const head = file.size > IMAGE_MAX_BYTES ? file.slice(0, 64) : file
  return imageProblem(file.size, new Uint8Array(await head.arrayBuffer()))
}

/** Keep a checked picture and return its key for the search address. */
export function rememberImage(blob: Blob, filename: string, label: string): string {
  const key = Math.random().toString(36).slice(2, 10)
  queries.set(key, { key, blob, filename, previewUrl: URL.createObjectURL(blob), label })
  while (queries.size > KEEP) {
    const oldest = queries.keys().next().value as string
    URL.revokeObjectURL(queries.get(oldest)!.previewUrl)
    queries.delete(oldest)
  }
  return key
}

export function imageQuery(key: string | null): ImageQuery | null {
  return key ? queries.get(key) ?? null : null
}

/** Check `blob` and open the results of a search with it; returns the problem (a sentence) instead when it cannot. */
export async function searchByImage(blob: Blob, filename: string, label: string): Promise<string | null> {
  const problem = await checkImage(blob)
  if (problem) return problem
  go('/search', { image: rememberImage(blob, filename, label) })
  return null
}
