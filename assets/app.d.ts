// Imported as text (`with { type: "text" }`) and served to browsers.
declare const text: string;
export default text;
