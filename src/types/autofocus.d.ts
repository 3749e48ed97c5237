// HTML's autofocus is a global attribute (HTML Living Standard §6.6.7, "The autofocus attribute"):
// any focusable element may carry it, such as a form's error made focusable with tabindex="-1"
// (views/parts.tsx). Kita's types allow it only on form controls.
declare namespace JSX {
  interface HtmlTag {
    autofocus?: undefined | boolean;
  }
}
