/** The frame a <video> shows, as a JPEG (for "Find scenes like this"). The video must be loaded with CORS
 * (crossorigin="anonymous" and the bucket's CORS rule allowing this site), else the canvas is tainted. */

const MAX_WIDTH = 1280 // larger frames add upload time, not matches
const WAIT_MS = 10_000

/** Resolve once the video has its current frame decoded (seeking to where it is loads it when only metadata is). */
async function frameReady(video: HTMLVideoElement): Promise<void> {
  if (video.readyState >= 2) return
  await new Promise<void>((resolve, reject) => {
    const timer = window.setTimeout(() => reject(new Error('The video did not load in time. Press play, then try again.')), WAIT_MS)
    const done = () => { window.clearTimeout(timer); resolve() }
    video.addEventListener('loadeddata', done, { once: true })
    video.addEventListener('seeked', done, { once: true })
    if (video.readyState >= 1) video.currentTime = video.currentTime // a seek makes the browser fetch the frame
  })
}

/** The current frame as a JPEG Blob; a readable Error when the frame cannot be read. */
export async function captureFrame(video: HTMLVideoElement): Promise<Blob> {
  await frameReady(video)
  const w = video.videoWidth
  const h = video.videoHeight
  if (!w || !h) throw new Error('The video has no picture to capture yet. Press play, then try again.')
  const scale = Math.min(1, MAX_WIDTH / w)
  const canvas = document.createElement('canvas')
  canvas.width = Math.round(w * scale)
  canvas.height = Math.round(h * scale)
  canvas.getContext('2d')!.drawImage(video, 0, 0, canvas.width, canvas.height)
  return new Promise<Blob>((resolve, reject) => {
    try {
      canvas.toBlob((blob) => (blob ? resolve(blob)
        : reject(new Error('The frame could not be captured. Try again, or save a picture and drop it on the search box.'))),
      'image/jpeg', 0.9)
    } catch {
      // a tainted canvas: the video's storage did not allow this site to read its pictures (CORS)
      reject(new Error('This video’s storage does not let the page read its pictures, so the frame could not be '
        + 'captured. Save a picture of the scene and drop it on the search box instead.'))
    }
  })
}
