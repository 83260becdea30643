/** The checks POST /search/image makes on a query picture, made first in the browser with the same limits (pure:
 * no imports, so the unit tests run it in Node): JPEG or PNG by its first bytes, at most 5 MB, at least 64 × 64. */

export const IMAGE_MAX_BYTES = 5 * 1024 * 1024
export const IMAGE_MIN_SIDE = 64

export type ImageType = 'image/jpeg' | 'image/png'

export interface ImageFacts {
  type: ImageType
  /** null when the header could not be read (then the server answers image_unreadable) */
  width: number | null
  height: number | null
}

/** The picture's type by its magic bytes, and its size in pixels from its header; null when neither JPEG nor PNG. */
export function sniffImage(head: Uint8Array): ImageFacts | null {
  if (head.length >= 8 && head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47
      && head[4] === 0x0d && head[5] === 0x0a && head[6] === 0x1a && head[7] === 0x0a) {
    // PNG: the first chunk is IHDR (length 13) holding width and height as big-endian 32-bit numbers
    const ihdr = head.length >= 24 && u32(head, 8) === 13
      && String.fromCharCode(head[12], head[13], head[14], head[15]) === 'IHDR'
    return { type: 'image/png', width: ihdr ? u32(head, 16) : null, height: ihdr ? u32(head, 20) : null }
  }
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) {
    const size = jpegSize(head)
    return { type: 'image/jpeg', width: size?.[0] ?? null, height: size?.[1] ?? null }
  }
  return null
}

const u32 = (b: Uint8Array, i: number) => ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3]
const u16 = (b: Uint8Array, i: number) => (b[i] << 8) + b[i + 1]

/** Width and height from the first start-of-frame marker (SOF0-SOF15 except DHT, JPG and DAC), walking segments. */
function jpegSize(b: Uint8Array): [number, number] | null {
  let i = 2
  while (i + 3 < b.length) {
    if (b[i] !== 0xff) return null
    const marker = b[i + 1]
    if (marker === 0xff) { i += 1; continue } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue } // no length
    if (marker === 0xd9 || marker === 0xda) return null // end of image / start of scan before any frame header
    const length = u16(b, i + 2)
    if (length < 2 || i + 2 + length > b.length) return null
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc
    if (isFrame) {
      if (i + 8 >= b.length) return null
      return [u16(b, i + 7), u16(b, i + 5)]
    }
    i += 2 + length
  }
  return null
}

/** "4.2 MB" (powers of 1024, one decimal), for the sentences below. */
function megabytes(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

/**
 * Why this file cannot be a search picture, as a sentence with what to do next; null when it can. Same order as the
 * server: type, then size, then dimensions, then a header that cannot be read.
 */
export function imageProblem(size: number, head: Uint8Array): string | null {
  if (size === 0 || head.length === 0) return 'This file is empty. Choose a JPEG or PNG picture and try again.'
  const facts = sniffImage(head)
  if (!facts) return 'This file is not a JPEG or PNG picture. Choose a JPEG or PNG image and try again.'
  if (size > IMAGE_MAX_BYTES) {
    return `This picture is ${megabytes(size)}; search takes pictures up to 5 MB. Choose a smaller one (or save it `
      + 'at a lower quality), then try again.'
  }
  if (!facts.width || !facts.height) {
    return 'This picture could not be read: its file may be damaged. Choose another JPEG or PNG image and try again.'
  }
  if (facts.width < IMAGE_MIN_SIDE || facts.height < IMAGE_MIN_SIDE) {
    return `This picture is ${facts.width} × ${facts.height} pixels; search needs at least ${IMAGE_MIN_SIDE} × `
      + `${IMAGE_MIN_SIDE}. Choose a larger picture and try again.`
  }
  return null
}
