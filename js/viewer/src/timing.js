// When the script started (ms since navigation start); and, per map (createTimings: one for each map
// drawn), when each phase of its first draw ended (ms since navigation start) and the phases of its last
// colour-mode switch (ms since that switch started).
export const T0 = performance.now();

export const createTimings = () => {
  const marks = {};
  const switchMarks = {};
  let switchStart = 0;
  const mark = (name) => { marks[name] = Math.round(performance.now()); };
  const markSwitch = (name) => {
    const now = performance.now();
    if (name === 'start') switchStart = now;
    switchMarks[name] = Math.round(now - switchStart);
  };
  return { marks, switchMarks, mark, markSwitch };
};
