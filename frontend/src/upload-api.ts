/** upload_status calls of the resumable upload: the page's heartbeat and discarding an unfinished upload. */
import { ApiError, call } from './api'

export interface ProgressAnswer {
  result: string
  /** `uploading` while the upload may go on; anything else means it ended (e.g. `failed` after a long silence). */
  status: string
  status_reason?: string | null
  heartbeat_seconds?: number
}

/** POST /uploads/{id}/progress: the page is still sending the file (also while paused). */
export const reportProgress = (videoId: string, body: { bytes_uploaded: number; bytes_total: number }) =>
  call<ProgressAnswer>('upload_status', `/uploads/${encodeURIComponent(videoId)}/progress`, {
    method: 'POST', body, auth: 'required',
  }).then((r) => r.data)

/** POST /uploads/{id}/discard: cancel the assembly, remove partial files and the record. An upload already gone counts. */
export async function discardUpload(videoId: string): Promise<void> {
  try {
    await call('upload_status', `/uploads/${encodeURIComponent(videoId)}/discard`, { method: 'POST', body: {}, auth: 'required' })
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return
    throw err
  }
}
