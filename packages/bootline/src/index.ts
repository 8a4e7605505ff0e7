// Public API: named re-exports only. The code arrives with its issue.
export {};
