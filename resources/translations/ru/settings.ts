<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="ru">
<context>
    <name>SettingsPage</name>
    <message>
        <source>Set by your organisation&apos;s IT policy.</source>
        <translation>Задано политикой ИТ-службы вашей организации.</translation>
    </message>
    <message>
        <source>Some of these settings are set by your organisation and cannot be changed here: %1</source>
        <translation>Некоторые из этих настроек задаёт ваша организация, изменить их здесь нельзя. %1</translation>
    </message>
    <message>
        <source>Settings</source>
        <translation>Настройки</translation>
    </message>
    <message>
        <source>Choose how Deskline looks, where your reports go and what they may contain. Changes take effect when you save them.</source>
        <translation>Здесь можно выбрать язык Deskline, куда отправляются ваши обращения и что в них может попасть. Изменения вступают в силу после сохранения.</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Язык</translation>
    </message>
    <message>
        <source>Helpdesk connection</source>
        <translation>Подключение к службе поддержки</translation>
    </message>
    <message>
        <source>Proxy</source>
        <translation>Прокси-сервер</translation>
    </message>
    <message>
        <source>Privacy</source>
        <translation>Конфиденциальность</translation>
    </message>
    <message>
        <source>Notifications</source>
        <translation>Уведомления</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>&amp;Язык:</translation>
    </message>
    <message>
        <source>&amp;Helpdesk:</source>
        <translation>&amp;Система заявок:</translation>
    </message>
    <message>
        <source>&amp;Address:</source>
        <translation>&amp;Адрес:</translation>
    </message>
    <message>
        <source>&amp;Queue:</source>
        <translation>&amp;Очередь:</translation>
    </message>
    <message>
        <source>&amp;Credential:</source>
        <translation>&amp;Учётные данные:</translation>
    </message>
    <message>
        <source>Your &amp;name:</source>
        <translation>Ваше &amp;имя:</translation>
    </message>
    <message>
        <source>Your &amp;e-mail:</source>
        <translation>&amp;Эл. почта:</translation>
    </message>
    <message>
        <source>Pro&amp;xy:</source>
        <translation>П&amp;рокси:</translation>
    </message>
    <message>
        <source>Check my tickets e&amp;very:</source>
        <translation>Проверять заявки &amp;каждые:</translation>
    </message>
    <message>
        <source>Helpdesk</source>
        <translation>Система заявок</translation>
    </message>
    <message>
        <source>Helpdesk address</source>
        <translation>Адрес системы заявок</translation>
    </message>
    <message>
        <source>Queue</source>
        <translation>Очередь</translation>
    </message>
    <message>
        <source>Credential reference</source>
        <translation>Где хранятся учётные данные</translation>
    </message>
    <message>
        <source>Your name</source>
        <translation>Ваше имя</translation>
    </message>
    <message>
        <source>Your e-mail address</source>
        <translation>Ваш адрес электронной почты</translation>
    </message>
    <message>
        <source>Proxy address</source>
        <translation>Адрес прокси-сервера</translation>
    </message>
    <message>
        <source>Check my tickets every</source>
        <translation>Проверять заявки каждые</translation>
    </message>
    <message>
        <source>Same as the desktop (%1)</source>
        <translation>Как в системе (%1)</translation>
    </message>
    <message>
        <source>Where the password or API token is kept, never the secret itself: env:NAME (an environment variable) or keyring:service/user (this computer&apos;s password store).</source>
        <translation>Укажите, где хранится пароль или API-токен, а не сам секрет: env:ИМЯ (переменная окружения) или keyring:служба/пользователь (хранилище паролей этого компьютера).</translation>
    </message>
    <message>
        <source>env:NAME or keyring:service/user</source>
        <translation>env:ИМЯ или keyring:служба/пользователь</translation>
    </message>
    <message>
        <source>Leave empty to use this computer&apos;s proxy settings.</source>
        <translation>Оставьте пустым, чтобы использовать настройки прокси этого компьютера.</translation>
    </message>
    <message>
        <source>&amp;Test connection</source>
        <translation>&amp;Проверить подключение</translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation>Проверить подключение</translation>
    </message>
    <message>
        <source>Ask the helpdesk something harmless with the settings shown here (saved or not).</source>
        <translation>Отправить безобидный запрос в систему заявок с настройками, указанными здесь (даже несохранёнными).</translation>
    </message>
    <message>
        <source>Connection test result</source>
        <translation>Результат проверки подключения</translation>
    </message>
    <message>
        <source>Technical details</source>
        <translation>Технические подробности</translation>
    </message>
    <message>
        <source>Parts of the system report that are never collected for your reports. The helpdesk may need some of them to help you.</source>
        <translation>Отмеченные части отчёта о системе никогда не собираются для ваших обращений. Учтите: некоторые из них могут понадобиться поддержке, чтобы вам помочь.</translation>
    </message>
    <message>
        <source>Never send: %1</source>
        <translation>Никогда не отправлять: %1</translation>
    </message>
    <message>
        <source>Hide names and addresses in reports</source>
        <translation>Скрывать имена и адреса в отчётах</translation>
    </message>
    <message>
        <source>Your user name, the computer&apos;s name, e-mail and network addresses are replaced by placeholders such as user1 or host1.</source>
        <translation>Ваше имя пользователя, имя компьютера, адреса электронной почты и сетевые адреса заменяются условными обозначениями, например user1 или host1.</translation>
    </message>
    <message>
        <source>Tell me when a ticket changes or gets a reply</source>
        <translation>Сообщать, когда заявка меняется или на неё приходит ответ</translation>
    </message>
    <message>
        <source> min</source>
        <translation> мин</translation>
    </message>
    <message>
        <source>Minutes between checks</source>
        <translation>Минут между проверками</translation>
    </message>
    <message>
        <source>&amp;Revert</source>
        <translation>&amp;Вернуть</translation>
    </message>
    <message>
        <source>Revert</source>
        <translation>Вернуть</translation>
    </message>
    <message>
        <source>Undo the changes you have not saved</source>
        <translation>Отменить несохранённые изменения</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>Со&amp;хранить</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Сохранить</translation>
    </message>
    <message>
        <source>Save your changes (Ctrl+S)</source>
        <translation>Сохранить изменения (Ctrl+S)</translation>
    </message>
    <message>
        <source>This computer only (no helpdesk)</source>
        <translation>Только этот компьютер (без системы заявок)</translation>
    </message>
    <message>
        <source>Request Tracker (RT)</source>
        <translation>Request Tracker (RT)</translation>
    </message>
    <message>
        <source>Jira Service Management</source>
        <translation>Jira Service Management</translation>
    </message>
    <message>
        <source>E-mail to the helpdesk</source>
        <translation>Письмо в службу поддержки</translation>
    </message>
    <message>
        <source>Web hook (your organisation&apos;s own service)</source>
        <translation>Веб-хук (собственный сервис организации)</translation>
    </message>
    <message>
        <source>System</source>
        <translation>Система</translation>
    </message>
    <message>
        <source>Processor</source>
        <translation>Процессор</translation>
    </message>
    <message>
        <source>Memory</source>
        <translation>Память</translation>
    </message>
    <message>
        <source>Disks</source>
        <translation>Диски</translation>
    </message>
    <message>
        <source>Network</source>
        <translation>Сеть</translation>
    </message>
    <message>
        <source>Running programs</source>
        <translation>Запущенные программы</translation>
    </message>
    <message>
        <source>Services</source>
        <translation>Службы</translation>
    </message>
    <message>
        <source>Installed software</source>
        <translation>Установленные программы</translation>
    </message>
    <message>
        <source>Recent errors in logs</source>
        <translation>Недавние ошибки в журналах</translation>
    </message>
    <message>
        <source>Power and battery</source>
        <translation>Питание и батарея</translation>
    </message>
    <message>
        <source>Temperatures and fans</source>
        <translation>Температура и вентиляторы</translation>
    </message>
    <message>
        <source>Users and sessions</source>
        <translation>Пользователи и сеансы</translation>
    </message>
    <message>
        <source>Displays</source>
        <translation>Мониторы</translation>
    </message>
    <message>
        <source>Printers</source>
        <translation>Принтеры</translation>
    </message>
    <message>
        <source>Environment variables</source>
        <translation>Переменные окружения</translation>
    </message>
    <message>
        <source>Reports are kept on this computer, to export and hand over.</source>
        <translation>Обращения хранятся на этом компьютере: их можно выгрузить и передать в поддержку.</translation>
    </message>
    <message>
        <source>Reports are sent by e-mail. The mail server is set in the settings file.</source>
        <translation>Обращения отправляются по электронной почте. Почтовый сервер указывается в файле настроек.</translation>
    </message>
    <message>
        <source>Reports are sent to the address below.</source>
        <translation>Обращения отправляются по адресу ниже.</translation>
    </message>
    <message>
        <source>Reports are filed as tickets on this helpdesk.</source>
        <translation>Обращения регистрируются как заявки в этой системе.</translation>
    </message>
    <message>
        <source>The queue&apos;s number (shown in the address of its page).</source>
        <translation>Номер очереди (виден в адресе её страницы).</translation>
    </message>
    <message>
        <source>The project&apos;s identifier, as in /projects/IDENTIFIER.</source>
        <translation>Идентификатор проекта, как в адресе /projects/ИДЕНТИФИКАТОР.</translation>
    </message>
    <message>
        <source>The queue&apos;s name.</source>
        <translation>Название очереди.</translation>
    </message>
    <message>
        <source>The group&apos;s name.</source>
        <translation>Название группы.</translation>
    </message>
    <message>
        <source>The category&apos;s number (may be left empty).</source>
        <translation>Номер категории (можно оставить пустым).</translation>
    </message>
    <message>
        <source>The service desk&apos;s id or project key.</source>
        <translation>Номер сервис-деска или ключ проекта.</translation>
    </message>
    <message>
        <source>Your settings file: %1</source>
        <translation>Ваш файл настроек: %1</translation>
    </message>
    <message>
        <source>Your organisation&apos;s policy file: %1</source>
        <translation>Файл политики организации: %1</translation>
    </message>
    <message>
        <source>Your settings were saved.</source>
        <translation>Настройки сохранены.</translation>
    </message>
    <message>
        <source>Nothing was saved: please correct the marked fields.</source>
        <translation>Ничего не сохранено: исправьте, пожалуйста, отмеченные поля.</translation>
    </message>
    <message>
        <source>Your settings could not be saved. Your changes are still here; try again.</source>
        <translation>Не удалось сохранить настройки. Ваши изменения остались на месте — попробуйте ещё раз.</translation>
    </message>
    <message>
        <source>You have changes that are not saved yet.</source>
        <translation>Есть несохранённые изменения.</translation>
    </message>
    <message>
        <source>This looks like the secret itself, so it was not saved. Enter where the secret is kept instead: env:NAME or keyring:service/user.</source>
        <translation>Похоже, это сам секрет, поэтому он не сохранён. Укажите, где он хранится: env:ИМЯ или keyring:служба/пользователь.</translation>
    </message>
    <message>
        <source>Enter the proxy as http://host:port, or leave it empty to use this computer&apos;s proxy settings.</source>
        <translation>Укажите прокси в виде http://сервер:порт или оставьте поле пустым, чтобы использовать настройки этого компьютера.</translation>
    </message>
    <message>
        <source>Enter the full address, starting with https://.</source>
        <translation>Укажите полный адрес, начиная с https://.</translation>
    </message>
    <message>
        <source>This does not look like an e-mail address.</source>
        <translation>Это не похоже на адрес электронной почты.</translation>
    </message>
    <message>
        <source>Not saved: %1</source>
        <translation>Не сохранено: %1</translation>
    </message>
    <message>
        <source>Please check this setting.</source>
        <translation>Проверьте, пожалуйста, эту настройку.</translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation>Проверяем…</translation>
    </message>
    <message>
        <source>The test could not be run. Please try again; if it keeps failing, tell your IT support.</source>
        <translation>Не удалось выполнить проверку. Попробуйте ещё раз; если ошибка повторится, сообщите в ИТ-поддержку.</translation>
    </message>
    <message>
        <source>Works. Reports are kept on this computer.</source>
        <translation>Всё работает. Обращения хранятся на этом компьютере.</translation>
    </message>
    <message>
        <source>Connected. The helpdesk answered and accepted your credential.</source>
        <translation>Подключение установлено. Система заявок ответила и приняла ваши учётные данные.</translation>
    </message>
    <message>
        <source>The settings are complete, but this helpdesk cannot be asked anything without sending a report.</source>
        <translation>Настройки заполнены, но проверить эту систему можно только отправкой обращения.</translation>
    </message>
    <message>
        <source>The helpdesk could not be reached. Check the address, the proxy and your network connection, then try again.</source>
        <translation>Не удалось связаться с системой заявок. Проверьте адрес, прокси и подключение к сети, затем попробуйте ещё раз.</translation>
    </message>
    <message>
        <source>The helpdesk answered but refused. Check the credential and the queue, or ask your IT support.</source>
        <translation>Система заявок ответила отказом. Проверьте учётные данные и очередь или обратитесь в ИТ-поддержку.</translation>
    </message>
    <message>
        <source>A setting needs fixing: %1.</source>
        <translation>Нужно исправить настройку: %1.</translation>
    </message>
</context>
</TS>
