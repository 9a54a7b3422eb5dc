/** Field manager of every server-side apply this operator sends. */
export const fieldManager = 'git-sync-operator';
/** On every object we apply: what prune and health select on. */
export const managedByLabel = 'git-sync-operator.mozilla.org/managed-by';
export const managedByValue = 'git-sync-operator';
/** `git-sync-operator.mozilla.org/prune: disabled` on a live object keeps it when git drops it. */
export const pruneAnnotation = 'git-sync-operator.mozilla.org/prune';
export const selector = `${managedByLabel}=${managedByValue}`;
/** Hash of the object as last applied: with a value-level match it lets a resync skip the dry-run. */
export const hashAnnotation = 'git-sync-operator.mozilla.org/applied-hash';
/** `git-sync-operator.mozilla.org/suspend: "true"` on a Version stops apply, prune and drift repair there. */
export const suspendAnnotation = 'git-sync-operator.mozilla.org/suspend';
/** `git-sync-operator.mozilla.org/phase: pre|post` on an object: applied (and waited for) before or after the rest. */
export const phaseAnnotation = 'git-sync-operator.mozilla.org/phase';
/** `git-sync-operator.mozilla.org/recreate: "true"`: a change the apiserver refuses as immutable deletes and creates the object. */
export const recreateAnnotation = 'git-sync-operator.mozilla.org/recreate';
