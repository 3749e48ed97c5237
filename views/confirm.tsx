import { Layout, type Viewer } from "./layout.tsx";

export interface ConfirmProps {
  viewer: Viewer;
  csrf: string;
  /** The question, naming the thing: `Revoke “deploy”?` */
  question: string;
  /** What stops working, one sentence a paragraph. */
  consequences: string[];
  /** Where the confirming form posts. */
  action: string;
  /** Hidden fields the form sends besides the form token, e.g. `{ client_id }` where the id is not in the path. */
  fields?: Record<string, string>;
  /** The confirming button: `Revoke key`. */
  confirmLabel: string;
  /** Where Cancel goes back to; nothing has changed there. */
  cancel: string;
  /** A red button for what cannot be undone; a plain one otherwise. */
  danger: boolean;
}

/**
 * The step before a destructive action, as its own page so it works without
 * script: the action's button is a link here, and only this page's form posts.
 */
export function ConfirmPage(props: ConfirmProps): string {
  return (
    <Layout title={props.question} viewer={props.viewer} csrf={props.csrf}>
      <section class="card narrow">
        <h1 safe>{props.question}</h1>
        {props.consequences.map((sentence) => (
          <p safe>{sentence}</p>
        ))}
        <form method="post" action={props.action} class="buttons confirm">
          <input type="hidden" name="csrf" value={props.csrf} />
          {Object.entries(props.fields ?? {}).map(([name, value]) => (
            <input type="hidden" name={name} value={value} />
          ))}
          <button type="submit" class={props.danger ? "danger" : ""} safe>
            {props.confirmLabel}
          </button>
          <a class="button secondary" href={props.cancel}>
            Cancel
          </a>
        </form>
      </section>
    </Layout>
  ) as string;
}
