export { grad, noGrad, enableGrad } from './grad.js';
export { rules, unbroadcast, type Rule } from './rules.js';
