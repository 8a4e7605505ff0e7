// The test guest: named re-exports only.
export {};
