<?php
// PHPUnit tests of \local_ferry\privacy\provider, against the moodle_standin (NOT Moodle).
// @license GNU GPL v3 or later

namespace local_ferry\tests;

use core_privacy\local\metadata\collection;
use core_privacy\local\request\approved_contextlist;
use core_privacy\local\request\approved_userlist;
use core_privacy\local\request\userlist;
use core_privacy\local\request\writer;
use local_ferry\privacy\provider;

/**
 * Privacy provider: metadata, contexts, users, export and deletion of outbox rows.
 *
 * @covers \local_ferry\privacy\provider
 */
class privacy_test extends ferry_testcase {
    /**
     * Users 2 (admin), 3, 4 and 5, and outbox rows: 2 enrols 4, 4 submits a quiz, 5 views a page.
     *
     * @return void
     */
    protected function setUp(): void {
        global $DB;
        parent::setUp();
        foreach ([1, 2, 3, 4, 5] as $id) {
            $DB->insert_record('user', ['username' => "u$id"]);
            \context_user::instance($id);
        }
        $fixtures = $this->fixtures();
        $this->add_row($fixtures['\core\event\user_enrolment_created']);
        $this->add_row($fixtures['\mod_quiz\event\attempt_submitted']);
        $this->add_row(['eventname' => '\mod_page\event\course_module_viewed', 'userid' => 5, 'courseid' => 2]);
    }

    public function test_implements_the_privacy_interfaces(): void {
        $interfaces = class_implements(provider::class);
        $this->assertContains('core_privacy\local\metadata\provider', $interfaces);
        $this->assertContains('core_privacy\local\request\plugin\provider', $interfaces);
        $this->assertContains('core_privacy\local\request\core_userlist_provider', $interfaces);
    }

    public function test_metadata_declares_outbox_and_ferry(): void {
        $items = provider::get_metadata(new collection('local_ferry'))->get_collection();
        $byname = [];
        foreach ($items as $item) {
            $byname[$item->name] = $item;
        }
        $this->assertSame('database_table', $byname['local_ferry_outbox']->type);
        $this->assertSame('external_location', $byname['ferry']->type);
        $this->assertSame(['userid', 'eventdata', 'grades'], array_keys($byname['ferry']->fields));
        $this->assertArrayHasKey('payload', $byname['local_ferry_outbox']->fields);
        foreach ($items as $item) {
            get_string($item->summary, 'local_ferry');
            foreach ($item->fields as $stringid) {
                $this->assertNotSame('', get_string($stringid, 'local_ferry'));
            }
        }
    }

    public function test_contexts_for_userid(): void {
        $this->assertSame([\context_user::instance(4)->id], provider::get_contexts_for_userid(4)->get_contextids());
        $this->assertSame([\context_user::instance(2)->id], provider::get_contexts_for_userid(2)->get_contextids());
        $this->assertSame([], provider::get_contexts_for_userid(3)->get_contextids());
    }

    public function test_users_in_context(): void {
        $userlist = new userlist(\context_user::instance(4), 'local_ferry');
        provider::get_users_in_context($userlist);
        $this->assertSame([4], $userlist->get_userids());

        $userlist = new userlist(\context_user::instance(3), 'local_ferry');
        provider::get_users_in_context($userlist);
        $this->assertSame([], $userlist->get_userids());

        $userlist = new userlist(\context_system::instance(), 'local_ferry');
        provider::get_users_in_context($userlist);
        $this->assertSame([], $userlist->get_userids());
    }

    public function test_export_user_data(): void {
        $context = \context_user::instance(4);
        provider::export_user_data(new approved_contextlist((object)['id' => 4], 'local_ferry', [$context->id]));
        $data = writer::$exported[$context->id][get_string('privacy:path:outbox', 'local_ferry')];
        $this->assertCount(2, $data->events, 'the enrolment of user 4 and their quiz submission');
        $this->assertSame('\core\event\user_enrolment_created', $data->events[0]->eventname);
        $this->assertSame(4, $data->events[1]->eventdata->userid);
    }

    public function test_delete_data_for_user(): void {
        global $DB;
        $context = \context_user::instance(4);
        provider::delete_data_for_user(new approved_contextlist((object)['id' => 4], 'local_ferry', [$context->id]));
        $this->assertSame(['5'], array_values(array_column($this->outbox(), 'userid')));
        $this->assertSame(0, $DB->count_records_select('local_ferry_outbox', 'userid = 4 OR relateduserid = 4'));
    }

    public function test_delete_data_for_user_ignores_other_users_contexts(): void {
        $context = \context_user::instance(5);
        provider::delete_data_for_user(new approved_contextlist((object)['id' => 4], 'local_ferry', [$context->id]));
        $this->assertCount(3, $this->outbox());
    }

    public function test_delete_data_for_users(): void {
        $context = \context_user::instance(5);
        provider::delete_data_for_users(new approved_userlist($context, 'local_ferry', [4]));
        $this->assertCount(3, $this->outbox(), 'user 4 has no data in user 5\'s context');
        provider::delete_data_for_users(new approved_userlist($context, 'local_ferry', [5]));
        $this->assertCount(2, $this->outbox());
    }

    public function test_delete_data_for_all_users_in_context(): void {
        provider::delete_data_for_all_users_in_context(\context_system::instance());
        $this->assertCount(3, $this->outbox());
        provider::delete_data_for_all_users_in_context(\context_user::instance(2));
        $this->assertCount(2, $this->outbox());
    }
}
