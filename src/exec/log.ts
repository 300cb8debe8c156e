// A line sink shared by stages and tools: listr2 task output, a log file, or nothing.
export type LineSink = (line: string) => void;
export const noLines: LineSink = () => {};
