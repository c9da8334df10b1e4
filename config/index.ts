export * from "./types";
export * from "./defaults";
export * from "./schema";
export * from "./parse";
export * from "./validate";
export * from "./load";
export * from "./kubernetesSyntax";
