import { z } from "zod";
import { secretList } from "../../config/units";

export const moodleConfig = z
  .strictObject({
    /** Shared tokens the Moodle plugin sends (X-Moodle-Token or Bearer). Empty list = every Moodle call is refused. */
    tokens: secretList.default(["dev-moodle-token"]),
    /** Moodle user ids always treated as staff (never trained on, never recommended to). */
    staff_user_ids: z.array(z.number().int()).default([]),
    /** Moodle role ids that make a user staff in a course (default: manager 1, editingteacher 3, teacher 4). */
    staff_role_ids: z.array(z.number().int()).default([1, 3, 4]),
  })
  .prefault({});
