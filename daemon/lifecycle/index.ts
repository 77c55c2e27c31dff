export { defineComponent } from './component.ts';
export type {
  Component,
  ComponentContext,
  ComponentHealth,
  ComponentSpec,
  Need,
  Needs,
  Resolved,
} from './component.ts';
export { JOURNAL_RESTART_KEYS, ReloadHistory, readConfigForReload, type ReloadOutcome } from './config-reload.ts';
export type { DaemonStatus } from './daemon-status.ts';
export { DataDirError, DataDirLock, alive, dataDirHeld, readOwner } from './data-dir.ts';
export { deferSighup, installSignalHandlers } from './signals.ts';
export { Supervisor } from './supervisor.ts';
export { changedKeys } from './settings-diff.ts';
export { ProvidedPorts } from './wiring.ts';
export { SystemdNotifier } from './systemd-notify.ts';
export { HealthWatch } from './health-line.ts';
export {
  ConfigOverlayStore,
  configOverlayPath,
  overlayHash,
  NEVER_SETTABLE,
  unsettableChanges,
  type ConfigOverlay,
  type OverlayApplied,
  type OverlayRequest,
  type OverlayStaged,
} from './config-overlay.ts';
export { ConfigOverlays } from './config-overlays.ts';
export { nameMainThread } from './process-name.ts';
