export type * from './types.js';
export { renderJobReport, escapeHtml, fmt, downsampleHistogram } from './render.js';
