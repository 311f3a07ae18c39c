// When the script started and when each phase of the first draw ended (ms since navigation start).
export const T0 = performance.now();
export const marks = {};
export const mark = (name) => { marks[name] = Math.round(performance.now()); };
