export {
  STATUS_FILE_PERIOD_MS,
  readStatusFile,
  startStatusFile,
  statusAgeMs,
  statusFilePath,
  type StatusFile,
  type StatusFileWriter,
} from './status-file.ts';
