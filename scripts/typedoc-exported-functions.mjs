// A typedoc plugin: every exported function must have a doc comment.
// typedoc's own notDocumented validation checks functions only together with
// every method of every class (requiring "Function" in requiredToBeDocumented
// requires all call signatures), so typedoc.json leaves functions out of that
// list and this plugin checks them: the exports of the package's modules and
// namespaces, not the members of its classes and interfaces.
import { Application, ReflectionKind } from 'typedoc';

/** @param {Application} app */
export function load(app) {
  app.on(Application.EVENT_VALIDATE_PROJECT, (project) => {
    for (const fn of project.getReflectionsByKind(ReflectionKind.Function)) {
      const documented = fn.hasComment() || fn.getNonIndexSignatures().some((signature) => signature.hasComment());
      if (!documented && fn.parent?.kindOf(ReflectionKind.SomeModule | ReflectionKind.Project)) {
        app.logger.warn(`${fn.getFriendlyFullName()} (Function), defined in ${fn.sources?.[0]?.fileName ?? 'an unknown file'}, does not have any documentation`);
      }
    }
  });
}
