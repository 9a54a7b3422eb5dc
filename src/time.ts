/** A time as the Kubernetes API writes it (metav1.Time): ISO 8601, UTC, to the second. */
export const isoSeconds = (d: Date = new Date()): string => d.toISOString().replace(/\.\d+Z$/, 'Z');
