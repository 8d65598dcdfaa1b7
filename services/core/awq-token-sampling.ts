/**
 * Which activation rows ("tokens") the INT4 AWQ clip search reads.
 *
 * The reference keeps rows 0, s, 2s, ... with s = max(1, ⌊tokens/64⌋). When every calibration sample
 * contributes the same number of tokens T and s is a multiple of T (ppocr_rec: 64 lines × 40 steps,
 * s = 40), that keeps the same sequence position of every sample, and the clip search fits one
 * position only (measured on ppocr_rec: INT4 AWQ cosine 0.9825, worse than RTN's 0.9868).
 *
 * We keep the reference's windows (one row from each run of s rows, so rows still spread over all
 * samples and the count is the same) but take row i·s + (i mod s) from window i: a diagonal that
 * walks through the positions inside the windows. With s = 1 (at most 127 tokens) every row is kept,
 * exactly as the reference. docs/compatibility.md records the difference.
 */

/** The window length s = max(1, ⌊tokens / maxTokens⌋). */
export function awqTokenStride(tokens: number, maxTokens: number): number {
  return Math.max(1, Math.floor(tokens / maxTokens));
}

/** The row taken from window i (may be >= tokens for the last, partial window: skip it then). */
export function awqWindowRow(window: number, stride: number): number {
  return window * stride + (window % stride);
}

/** Every kept row for `tokens` rows, ascending. */
export function awqTokenRows(tokens: number, maxTokens: number): number[] {
  const s = awqTokenStride(tokens, maxTokens);
  const rows: number[] = [];
  for (let i = 0; i * s < tokens; i++) {
    const r = awqWindowRow(i, s);
    if (r < tokens) rows.push(r);
  }
  return rows;
}
