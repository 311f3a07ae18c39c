// When the script started and when each phase of the first draw ended (ms since navigation start);
// and the phases of the last colour-mode switch (ms since it started).
export const T0 = performance.now();
export const marks = {};
export const mark = (name) => { marks[name] = Math.round(performance.now()); };
export const switchMarks = {};
let switchStart = 0;
export const markSwitch = (name) => {
  const now = performance.now();
  if (name === 'start') switchStart = now;
  switchMarks[name] = Math.round(now - switchStart);
};
