export { grad, noGrad, enableGrad, valueAndGrad } from './grad.js';
export { rules, unbroadcast, type Rule } from './rules.js';
