export { grad, noGrad, enableGrad, type RuleTable } from './grad.js';
export { relevanceRules, type RelevanceOptions } from './relevance.js';
export { rules, unbroadcast, type Rule } from './rules.js';
