/** Bounds on what one namespace's folder may hold; beyond them the folder is rejected whole. */
export const limits = {
  /** etcd stores objects up to ~1.5 MiB; a bigger file cannot be a sane set of manifests. */
  fileBytes: 4 * 1024 * 1024,
  folderBytes: 64 * 1024 * 1024,
  documentsPerFile: 5_000,
  objectsPerNamespace: 20_000,
  /** YAML alias expansions per document (YAML bomb guard). */
  aliases: 100,
} as const;
