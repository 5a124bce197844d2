// The console's browser files are imported as text (embedded by `bun build --compile`). Browser
// modules are named *.ui.js so this declaration covers them and nothing else. (bun-types
// declares *.html as an HTML bundle; assets.ts reads the shell's text import as a string.)
declare module "*.ui.js" {
  const text: string;
  export default text;
}
declare module "*.css" {
  const text: string;
  export default text;
}
declare module "*.svg" {
  const text: string;
  export default text;
}
