/** The short form of a commit sha used in Version status, S3 keys, events and logs: its first 7 hex digits. */
export const short = (sha: string): string => sha.slice(0, 7);
