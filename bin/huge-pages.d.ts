// Types of bin/huge-pages.js (plain JavaScript: the launcher runs it before tsx is registered).
export declare const HUGE_PAGES_TUNABLE: string;
export declare function transparentHugePageMode(file?: string): string | undefined;
export declare function hugePagesEnv(env: NodeJS.ProcessEnv, thpMode: string | undefined, execArgv?: readonly string[]): NodeJS.ProcessEnv | undefined;
export declare function relaunchWithHugePages(): Promise<number | undefined>;
